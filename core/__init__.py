"""The floor every app stands on: what every app uses (alerts, the audit log, YouTube's text
limits, the FFmpeg lookup, logging, the admin mixins, the media store). It imports no feature
app; the project's import-graph test holds it to that."""
