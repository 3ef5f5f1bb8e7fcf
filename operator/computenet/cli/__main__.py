"""``python -m computenet.cli``: the same as the ``kubectl-computenet`` command."""

from computenet.cli.main import main

raise SystemExit(main())
