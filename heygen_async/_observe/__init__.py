"""
Watching the SDK work: event hooks and OpenTelemetry.

The core talks to one :class:`~.instrument.Instrumentation` at a handful of
points (each HTTP attempt, each wait, each job the poll loop starts and stops
watching). What it does there lives here: calling the user's hooks with
frozen, redacted views (``hooks``, ``views``) and, with the ``otel`` extra,
spans and metrics (``otel``). Nothing here imports OpenTelemetry until a
:class:`~.otel.OpenTelemetry` is built.
"""
