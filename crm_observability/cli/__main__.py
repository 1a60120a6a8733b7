import sys

from crm_observability.cli import main

sys.exit(main())
