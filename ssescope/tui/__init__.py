"""The Textual shell (screens, widgets, one .tcss). The only package allowed to import textual."""
