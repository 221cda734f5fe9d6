{#- The few places where DuckDB and PostgreSQL differ, dispatched per adapter.
    target-duckdb lands arrays as JSON, target-postgres as native arrays. -#}

{#- A naive timestamp the loaders wrote in UTC, as timestamptz. -#}
{% macro utc(column) -%}
    timezone('UTC', cast({{ column }} as timestamp))
{%- endmacro %}

{#- The UTC calendar day of a timestamptz, whatever the session's time zone. -#}
{% macro utc_day(column) -%}
    cast(timezone('UTC', {{ column }}) as date)
{%- endmacro %}

{#- A JSON object's member as text (objects are JSON in DuckDB, jsonb in PostgreSQL). -#}
{% macro json_text(column, key) -%}
    ({{ column }} ->> '{{ key }}')
{%- endmacro %}

{#- One row per element of an array of strings (a set-returning select expression). -#}
{% macro array_elements(column) -%}
    {{ return(adapter.dispatch('array_elements', 'mailtaps')(column)) }}
{%- endmacro %}
{% macro default__array_elements(column) -%}
    unnest({{ column }})
{%- endmacro %}
{% macro duckdb__array_elements(column) -%}
    unnest(from_json({{ column }}, '["VARCHAR"]'))
{%- endmacro %}

{#- Number of elements of an array, 0 for none. -#}
{% macro array_size(column) -%}
    {{ return(adapter.dispatch('array_size', 'mailtaps')(column)) }}
{%- endmacro %}
{% macro default__array_size(column) -%}
    coalesce(cardinality({{ column }}), 0)
{%- endmacro %}
{% macro duckdb__array_size(column) -%}
    coalesce(cast(json_array_length({{ column }}) as bigint), 0)
{%- endmacro %}

{#- The elements of an array of strings joined with ', ' (null for none). -#}
{% macro array_text(column) -%}
    {{ return(adapter.dispatch('array_text', 'mailtaps')(column)) }}
{%- endmacro %}
{% macro default__array_text(column) -%}
    nullif(array_to_string({{ column }}, ', '), '')
{%- endmacro %}
{% macro duckdb__array_text(column) -%}
    nullif(array_to_string(from_json({{ column }}, '["VARCHAR"]'), ', '), '')
{%- endmacro %}
