"""The library: Livy and Fabric Livy over HTTP, with no IPython in it.

``endpoints`` (URLs of both shapes), ``models`` (typed answers), ``transport``/``http_core`` (the
only code that sees requests/urllib3), ``client`` (one method per REST call), ``batches``,
``lifecycle`` (start, wait, run, diagnose, keep-alive of one session), ``targets`` (where
sessions run and how to sign in there, shared by every front end).
"""
