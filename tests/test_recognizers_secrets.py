"""The SECRET recognizer inside real Presidio analyzers, English and Chinese, as span tables."""

from __future__ import annotations

import base64
import json

import pytest

from detectors.pii import PresidioPool

# Fake credentials are assembled from parts so that this file never holds a literal a secret scanner would flag.
ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
AWS_EXAMPLE = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example key id
AWS_SESSION = "ASIA" + "Q3EGRZ7XYRT4WQ5N"
GHP = "ghp" + "_" + ALNUM[:36]
GHO = "gho" + "_" + ALNUM[10:46]
GITHUB_PAT = "github" + "_pat_" + ALNUM[:22] + "_" + (ALNUM * 2)[:59]
SK_LEGACY = "sk" + "-" + ALNUM[:20] + "T3BlbkFJ" + ALNUM[20:40]
SK_PROJ = "sk" + "-proj-" + ALNUM[:40] + "_-" + ALNUM[40:60]
SK_ANT = "sk" + "-ant-api03-" + ALNUM[:40]


def b64url_json(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()


JWT = ".".join([b64url_json({"alg": "HS256", "typ": "JWT"}), b64url_json({"sub": "1234567890"}), "c2lnbmF0dXJl_-x"])
JWT_NONE = b64url_json({"alg": "none"}) + "." + b64url_json({"sub": "1"}) + "."
JWT_NO_ALG = ".".join([b64url_json({"typ": "JWT"}), b64url_json({"sub": "1"}), "c2ln"])
JWE = ".".join([b64url_json({"alg": "RSA-OAEP", "enc": "A256GCM"}), "ZW5jcnlwdGVka2V5", "aXY", "Y2lwaGVy", "dGFn"])
PEM_RSA = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + ALNUM + "\n" + ALNUM + "==\n-----END RSA PRIVATE KEY-----"
PEM_ENCRYPTED = ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n"
                 + ALNUM + "\n-----END RSA PRIVATE KEY-----")
PEM_OPENSSH = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA" + ALNUM + "\n-----END OPENSSH PRIVATE KEY-----"
PEM_PKCS8 = "-----BEGIN PRIVATE KEY-----\n" + ALNUM + "\n-----END PRIVATE KEY-----"


# (language, text, expected [(entity, start, end, score)]) at threshold 0.
ROWS: list[tuple[str, str, list[tuple[str, int, int, float]]]] = [
    # --- AWS access key ids: upper case only, exactly 16 after the prefix
    ("en", f"{AWS_EXAMPLE}", [("SECRET", 0, 20, 0.9)]),
    ("en", f"AWS credentials: {AWS_EXAMPLE}", [("SECRET", 17, 37, 1.0)]),
    ("zh", f"访问密钥是{AWS_SESSION}，别外传", [("SECRET", 5, 25, 1.0)]),
    ("en", f"{AWS_EXAMPLE.lower()}", []),
    ("en", f"{AWS_EXAMPLE[:-1]}", []),
    ("en", f"X{AWS_EXAMPLE}", []),
    ("en", f"{AWS_EXAMPLE}9", []),
    ("en", "AKIA" + "X" * 16, []),  # a template placeholder
    # --- GitHub tokens
    ("en", f"TOKEN={GHP}", [("SECRET", 6, 46, 1.0)]),
    ("zh", f"OAuth 令牌 {GHO}", [("SECRET", 9, 49, 1.0)]),
    ("en", f"{GHP}", [("SECRET", 0, 40, 0.95)]),
    ("en", f"new: {GITHUB_PAT}", [("SECRET", 5, 98, 0.95)]),
    ("en", "ghx_" + ALNUM[:36], []),
    ("en", GHP[:-1], []),
    # --- OpenAI-style keys
    ("en", f"OPENAI_API_KEY={SK_LEGACY}", [("SECRET", 15, 66, 1.0)]),
    ("en", f"{SK_LEGACY}", [("SECRET", 0, 51, 0.7)]),
    ("en", f"use {SK_PROJ} here", [("SECRET", 4, 74, 0.9)]),
    ("zh", f"我的密钥是 {SK_ANT}", [("SECRET", 6, 59, 1.0)]),
    ("en", "key sk-short123", []),
    ("en", "task-" + ALNUM[:40], []),
    ("en", "sk-" + "x" * 48, []),  # a template placeholder
    # --- JWTs: the header must decode to JSON with "alg"
    ("en", f"Authorization: Bearer {JWT}", [("SECRET", 22, 22 + len(JWT), 1.0)]),
    ("en", f"token {JWT}. Next sentence", [("SECRET", 6, 6 + len(JWT), 1.0)]),
    ("en", f"{JWT_NONE}", [("SECRET", 0, len(JWT_NONE), 1.0)]),
    ("zh", f"加密令牌：{JWE}", [("SECRET", 5, 5 + len(JWE), 1.0)]),
    ("en", f"{JWT_NO_ALG}", []),
    ("en", "eyJABC.eyJDEF.GHIJKL", []),
    # --- PEM private key blocks
    ("en", f"key file content:\n{PEM_OPENSSH}", [("SECRET", 18, 18 + len(PEM_OPENSSH), 1.0)]),
    ("en", f"{PEM_RSA}", [("SECRET", 0, len(PEM_RSA), 1.0)]),
    ("zh", f"私钥如下：{PEM_ENCRYPTED}", [("SECRET", 5, 5 + len(PEM_ENCRYPTED), 1.0)]),
    ("en", f"{PEM_PKCS8}\ntrailing text", [("SECRET", 0, len(PEM_PKCS8), 1.0)]),
    ("en", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + ALNUM + " without its END line", []),
    ("en", PEM_RSA.replace("END RSA", "END EC"), []),
    ("en", "-----BEGIN PUBLIC KEY-----\n" + ALNUM + "\n-----END PUBLIC KEY-----", []),
    # --- nothing
    ("zh", "今天天气不错，没有任何 secret 信息", []),
]


@pytest.fixture(scope="module")
def analyzers() -> dict[str, object]:
    pool = PresidioPool()
    return {"en": pool.analyzer("en", None), "zh": pool.analyzer("zh", None)}


def spans(analyzer, text: str, language: str) -> list[tuple[str, int, int, float]]:
    results = analyzer.analyze(text=text, language=language, entities=["SECRET"], score_threshold=0.0)
    return sorted((r.entity_type, r.start, r.end, round(r.score, 2)) for r in results)


@pytest.mark.parametrize(("language", "text", "expected"), ROWS)
def test_span_table(analyzers, language: str, text: str, expected) -> None:
    assert spans(analyzers[language], text, language) == expected


@pytest.mark.parametrize(("language", "text", "expected"), ROWS)
def test_the_other_language_finds_the_same(analyzers, language: str, text: str, expected) -> None:
    other = "en" if language == "zh" else "zh"
    assert spans(analyzers[other], text, other) == expected


@pytest.mark.parametrize("text", [
    "-----BEGIN RSA PRIVATE KEY-----\n" * 200 + "A" * 20_000,  # many openings, no END
    "eyJ" + "a" * 50_000 + "." * 3,
    ("sk-" + "a" * 31 + "!") * 2_000,
    "AKIA" * 10_000,
])
def test_adversarial_inputs_finish_without_a_match(analyzers, text: str) -> None:
    assert spans(analyzers["en"], text, "en") == []
