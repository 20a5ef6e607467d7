"""Tests for haplexpr.training.torchrun: the job reaches each rank torchrun starts.

(The ranks' training itself is tested by ``test_training_distributed.py``.)
"""

import pytest

from haplexpr.training.torchrun import launch


def test_each_rank_runs_this_module_and_a_failure_names_the_log(tmp_path):
    log = tmp_path / "ranks.log"
    with pytest.raises(RuntimeError, match=rf"training on 2 ranks failed .* errors are in {log}"):
        launch({"threads": 1}, 2, tmp_path, log)  # a job without its config
    text = log.read_text()
    assert "haplexpr/training/torchrun.py" in text and "KeyError: 'config'" in text
    assert not (tmp_path / "ranks.json").exists()  # the job file is removed either way
