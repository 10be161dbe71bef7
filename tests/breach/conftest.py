from tests.dsr.conftest import db_url, mydigisoft  # noqa: F401  (the three engines, demo data)
