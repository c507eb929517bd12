import pytest

from radlabel.errors import InputError
from radlabel.lm.config import LMConfig, load_config
from radlabel.lm.embedded import MODELS, model_path


def test_precedence_flags_over_env_over_file(tmp_path, monkeypatch):
    f = tmp_path / "radlabel.yaml"
    f.write_text("lm:\n  model: openai/from-file\n  api_base: http://127.0.0.1:1/v1\n  parallel: 3\n")
    assert load_config(f).model == "openai/from-file"
    monkeypatch.setenv("RADLABEL_LM", "openai/from-env")
    cfg = load_config(f)
    assert cfg.model == "openai/from-env" and cfg.parallel == 3
    assert load_config(f, model="embedded").model == "embedded"


def test_default_is_embedded_and_private():
    cfg = LMConfig()
    assert cfg.is_embedded and cfg.embedded_ref is None
    cfg.check_privacy()
    assert LMConfig(model="embedded:qwen2.5-coder-0.5b").embedded_ref == "qwen2.5-coder-0.5b"


@pytest.mark.parametrize("base,ok", [("http://127.0.0.1:8000/v1", True), ("http://localhost:11434/v1", True),
                                     ("http://[::1]:8000/v1", True), ("http://10.0.0.5:8000/v1", False),
                                     ("https://api.example.com/v1", False), (None, False)])
def test_reports_do_not_leave_the_machine_unless_allowed(base, ok):
    cfg = LMConfig(model="openai/llama-3.1-8b", api_base=base)
    if ok:
        cfg.check_privacy()
    else:
        with pytest.raises(InputError, match="PHI"):
            cfg.check_privacy()
        LMConfig(model="openai/llama-3.1-8b", api_base=base, allow_remote=True).check_privacy()


def test_bad_config_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("lm:\n  modle: x\n")
    with pytest.raises(InputError, match="invalid LM configuration"):
        load_config(f)
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_embedded_model_is_assembled_and_checked():
    p = model_path()
    assert p.stat().st_size == MODELS["qwen2.5-coder-1.5b"].size
    assert p.with_name(p.name + ".sha256").read_text().strip() == MODELS["qwen2.5-coder-1.5b"].sha256
