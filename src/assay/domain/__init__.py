"""Plain domain objects: who is acting (``people``) and what a project shows and asks (``schema``).

Import from the submodules (``assay.domain.schema``); this package keeps no state of its own.
"""
