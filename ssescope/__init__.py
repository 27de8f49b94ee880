"""ssescope: a terminal debugger for OpenAI Responses API Server-Sent-Event streams."""

__version__ = "0.1.0"
