from ssescope.cli import main

raise SystemExit(main())
