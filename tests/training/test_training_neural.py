"""Transformer variants on tiny data (slow: each trains a few real optimizer steps on CPU).

Round trips compare the in-memory classifier with the one reloaded from its folder.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from radlabel.training.registry import load_classifier
from radlabel.training.config import TrainConfig
from radlabel.training.train import train_model
from support.training_corpus import corpus, write_files

pytestmark = pytest.mark.slow
TINY = dict(max_steps=4, batch_size=8, max_length=48)


def _texts(f, n=6):
    return [r["text"] for r in f["rows"][:n]]


def test_lora_round_trip_merged_weights(tmp_path):
    f = write_files(tmp_path, n=48)
    clf = train_model(TrainConfig(variant="lora", **TINY), tmp_path / "m", labels=[str(f["pseudo"])],
                      reports=str(f["reports"]))
    again = load_classifier(tmp_path / "m")
    np.testing.assert_array_equal(clf.predict_proba(_texts(f)), again.predict_proba(_texts(f)))
    files = set(os.listdir(tmp_path / "m"))
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "radlabel_model.json"} <= files
    assert "adapter_config.json" not in files and "checkpoints" not in files  # merged, cleaned up
    assert again.info["train_seconds"] > 0


def test_full_fine_tune_four_state(tmp_path):
    f = write_files(tmp_path, n=48)
    clf = train_model(TrainConfig(variant="full", four_state=True, **TINY), tmp_path / "m",
                      gold=[str(f["gold"])])
    P = load_classifier(tmp_path / "m").predict_proba(_texts(f))
    assert P.shape == (6, len(clf.classes), 4)
    np.testing.assert_array_equal(P, clf.predict_proba(_texts(f)))
    np.testing.assert_allclose(P.sum(-1), 1.0, atol=1e-5)


def test_pretrain_from_scratch_then_train_on_it(tmp_path):
    from radlabel.training.pretrain import pretrain
    from radlabel.training.tokenizer import train_bpe

    texts = [r["text"] for r in corpus(64)]
    train_bpe(texts, tmp_path / "tok", vocab_size=500)
    info = pretrain(texts, tmp_path / "enc", mode="scratch", tokenizer_dir=str(tmp_path / "tok"),
                    max_steps=6, batch_size=8, max_length=48)
    assert len(info["losses"]) >= 2 and info["losses"][-1] < info["losses"][0]
    f = write_files(tmp_path, n=40)
    clf = train_model(TrainConfig(variant="lora", base=str(tmp_path / "enc"), **TINY), tmp_path / "m",
                      gold=[str(f["gold"])])
    assert json.loads((tmp_path / "m" / "config.json").read_text())["model_type"] == "roberta"
    np.testing.assert_array_equal(load_classifier(tmp_path / "m").predict_proba(_texts(f)),
                                  clf.predict_proba(_texts(f)))


def test_continued_pretraining_of_packaged_encoder(tmp_path):
    from radlabel.training.pretrain import pretrain

    texts = [r["text"] for r in corpus(32)]
    info = pretrain(texts, tmp_path / "dapt", mode="continue", max_steps=2, batch_size=8, max_length=48)
    assert info["steps"] == 2 and (tmp_path / "dapt" / "model.safetensors").exists()
    f = write_files(tmp_path, n=32)
    train_model(TrainConfig(variant="full", base=str(tmp_path / "dapt"), **TINY), tmp_path / "m",
                gold=[str(f["gold"])])
    assert load_classifier(tmp_path / "m").predict(_texts(f, 1))[0]["labels"]


def test_decoder_lora_on_a_small_local_qwen2(tmp_path):
    """The decoder path (pad token, LoRA on q/k/v/o + score head, adapter-only save, reload + merge)
    on a 2-layer Qwen2 built here; the packaged 0.5B GGUF takes minutes on CPU (see docs)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from radlabel.training.tokenizer import train_bpe

    texts = [r["text"] for r in corpus(48)]
    tok = train_bpe(texts, tmp_path / "qwen", vocab_size=400)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      pad_token_id=tok.pad_token_id)
    Qwen2ForCausalLM(cfg).save_pretrained(tmp_path / "qwen")
    f = write_files(tmp_path, n=48)
    clf = train_model(TrainConfig(variant="decoder-lora", base=str(tmp_path / "qwen"), lr=1e-3, **TINY),
                      tmp_path / "m", gold=[str(f["gold"])])
    files = set(os.listdir(tmp_path / "m"))
    assert "adapter_config.json" in files and "model.safetensors" not in files
    again = load_classifier(tmp_path / "m")
    np.testing.assert_allclose(again.predict_proba(_texts(f)), clf.predict_proba(_texts(f)), atol=1e-2)


@pytest.mark.skipif(shutil.which("accelerate", path=os.path.dirname(sys.executable)) is None,
                    reason="accelerate CLI not installed")
def test_train_runs_unchanged_under_accelerate_launch(tmp_path):
    f = write_files(tmp_path, n=40)
    accel = os.path.join(os.path.dirname(sys.executable), "accelerate")
    cmd = [accel, "launch", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "--cpu", "-m", "radlabel.cli", "train", "--variant", "lora",
           "--gold", str(f["gold"]), "-o", str(tmp_path / "m"), "--max-steps", "3", "--batch-size", "8",
           "--max-length", "48"]
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf"), ACCELERATE_CONFIG_FILE=str(tmp_path / "none.yaml"))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "saved lora model" in r.stdout
    assert load_classifier(tmp_path / "m").predict(_texts(f, 2))[0]["probs"]
