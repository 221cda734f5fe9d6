{#- The latest version of each row of a loaded table (by the loaders' batch and
    extraction times), without the rows deleted upstream. Loads that upsert
    already keep one row per key; appending loads and replays do not. -#}
{% macro current_rows(relation, key_columns) -%}
select *
from (
    select
        loaded.*,
        row_number() over (
            partition by {{ key_columns | join(', ') }}
            order by loaded._sdc_batched_at desc nulls last,
                loaded._sdc_extracted_at desc nulls last
        ) as _version_rank
    from {{ relation }} as loaded
) as versions
where _version_rank = 1 and _sdc_deleted_at is null
{%- endmacro %}
