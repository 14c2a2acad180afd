from haiend.cli import main

raise SystemExit(main())
