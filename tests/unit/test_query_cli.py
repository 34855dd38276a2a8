"""``python -m contentlake.query``: one statement per file."""

import pytest

from contentlake.query import main as query_main


def test_query_cli_refuses_a_file_with_several_statements(tmp_path):
    two = tmp_path / "two.sql"
    two.write_text("select 1;\nselect 2;\n")
    with pytest.raises(SystemExit):
        query_main([str(two)])
