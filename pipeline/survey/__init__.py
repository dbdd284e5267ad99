"""The survey pipeline: questionnaire spec -> ingest -> validate -> clean -> route -> tables ->
verify -> report. ``flow`` wires the stages; each stage is a module named after what it owns."""
