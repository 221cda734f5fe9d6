"""What the mixins of this library derive from.

At run time each mixin derives from ``object`` and reaches the SDK's class through
the tap's or stream's MRO (``class TapX(RedactedLogs, Tap)``). For the type checker
it derives from that SDK class, so its ``super()`` calls and its overrides are
checked against the SDK's own signatures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from singer_sdk import RESTStream, Stream, Tap

    TapMixin = Tap
    StreamMixin = Stream
    RESTStreamMixin = RESTStream[Any]
else:
    TapMixin = StreamMixin = RESTStreamMixin = object
