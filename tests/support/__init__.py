"""Shared test support: the one fake HTTP server, stream factories, an in-process CLI runner and
condition waits. Import from the submodules (``tests.support.server`` and friends)."""
