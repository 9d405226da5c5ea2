from shopfloor.cli.main import main

raise SystemExit(main())
