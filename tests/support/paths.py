"""Where the tests find the repository and their fixtures."""
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent  # the repository
FIXTURES = TESTS / "support" / "fixtures"
