"""The UI-free core: bytes → frames → typed events → checker → tree, timing and captures.

Nothing in here imports Textual (a test enforces it), so headless check, the proxy and the TUI all
share one judgement.
"""
