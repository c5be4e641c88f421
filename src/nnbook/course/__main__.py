from nnbook.course.cli import main

raise SystemExit(main())
