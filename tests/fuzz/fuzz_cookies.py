"""Fuzz the cookie decoders, for a bounded time.

Run it from the repository root, as a module of the ``tests`` package.
With atheris installed, this is a coverage-guided libFuzzer target, and
takes libFuzzer's options::

    python -m tests.fuzz.fuzz_cookies -max_total_time=60
    python -m tests.fuzz.fuzz_cookies crash-<hash>      # replay a crash

Without atheris (or with ``--hypothesis``) the same targets run under
hypothesis, on random and mutated inputs, until ``-max_total_time``
seconds or ``-runs`` inputs have passed::

    python -m tests.fuzz.fuzz_cookies --hypothesis -max_total_time=60

Each input's first byte picks a target; the rest is its input. A target
fails (an uncaught exception) when a decoder raises anything but its
``BadCookie`` refusal, returns a value of the wrong shape (for the flash,
``Markup`` from an unsigned cookie included), or a request with the input
as its cookie answers with an error or a session it must not have.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

#: The repository root: the ``tests`` package, and flask_scopes from a
#: checkout.
ROOT = Path(__file__).resolve().parent.parent.parent
#: How to run this script: ``python -m <MODULE>``.
MODULE = "tests.fuzz.fuzz_cookies"

Target = t.Callable[[bytes], None]
CHILD = "--libfuzzer-child"

#: Tokens the fuzzer may insert: the codec's tags, headers and JSON shapes.
DICTIONARY = [
    '" t"',
    '" b"',
    '" m"',
    '" u"',
    '" dt"',
    '" di"',
    '__"',
    "1t.",
    "1z.",
    "1tz.",
    "[0,0,{",
    "}]",
    '{"',
    '":',
    "NaN",
    "1e999",
    "Infinity",
    '"info",{',
    ",2]",
    "\\ud800",
    "x\x9c",
    "session=",
    "; ",
    '[[0,[["',
    '",1]',
    '"info"',
    '{"f":["',
]


class Targets:
    """The fuzzed functions, each taking the input's bytes."""

    #: The most bytes a compressed body may inflate to.
    max_inflated = 64 * 1024

    def __init__(self) -> None:
        import zlib

        from flask import Flask
        from flask import get_flashed_messages
        from flask import session
        from flask.sessions import SecureCookieSessionInterface
        from markupsafe import Markup

        from flask_scopes.codecs.encoding import BadCookie
        from flask_scopes.codecs.flask_format import FlaskCookieReader
        from flask_scopes.codecs.signed import SessionCodec
        from flask_scopes.codecs.signing import KeyRing
        from flask_scopes.codecs.signing import SESSION_SALT

        from ..cookie_cases import check_flash
        from ..cookie_cases import check_flash_value
        from ..cookie_cases import flash_codecs
        from ..cookie_cases import LIMIT
        from ..cookie_cases import make_app
        from ..cookie_cases import make_seeds
        from ..cookie_cases import OLD_FLASH_RING
        from ..cookie_cases import OLD_SECRET
        from ..cookie_cases import SECRET

        self.zlib = zlib
        self.BadCookie = BadCookie
        self.ring = KeyRing(SECRET.encode(), [OLD_SECRET.encode()], SESSION_SALT)
        self.codec = SessionCodec(self.ring, LIMIT, self.max_inflated)
        #: The flash codec as an app has it: unsigned, and signed
        #: (``SCOPES_FLASH_SIGNED``).
        self.flash_codecs = flash_codecs()
        self.flash_signers = [self.flash_codecs["signed"].keys, OLD_FLASH_RING]
        self.check_flash = check_flash
        self.check_value = check_flash_value
        self.reader = FlaskCookieReader(
            [SECRET.encode(), OLD_SECRET.encode()], LIMIT, self.max_inflated
        )
        flask_app = Flask(__name__)
        flask_app.secret_key = SECRET
        serializer = SecureCookieSessionInterface().get_signing_serializer(flask_app)
        assert serializer is not None
        self.flask_signer = serializer.make_signer()
        self.seeds = make_seeds()

        self.app = app = make_app(TESTING=False)
        self.seen: dict[str, t.Any] = {}

        @app.get("/session")
        def read_session() -> str:
            self.seen = dict(session)
            return "ok"

        @app.get("/flash")
        def read_flash() -> str:
            for category, message in get_flashed_messages(with_categories=True):
                if type(category) is not str:
                    raise AssertionError(f"not a category: {category!r}")
                if isinstance(message, Markup):
                    raise AssertionError(f"Markup from the flash cookie: {message!r}")
                # Plain JSON only, nothing tagged, from the unsigned cookie.
                self.check_value(message, False, "flash cookie")
            return "ok"

        self.client = app.test_client(use_cookies=False)

    def all(self) -> list[tuple[str, Target]]:
        return [
            ("session codec, any value", self.session_codec),
            ("session codec, signed junk", self.session_codec_signed),
            ("flask reader, any value", self.flask_reader),
            ("flask reader, signed junk", self.flask_reader_signed),
            ("decompress", self.decompress),
            ("request, session cookie", self.session_request),
            ("request, mutated session cookie", self.mutated_session_request),
            ("request, flash cookie", self.flash_request),
            ("flash codec, any value", self.flash_codec),
            ("flash codec, any body", self.flash_codec_body),
        ]

    def one_input(self, data: bytes) -> None:
        """The entry point: the first byte picks the target."""
        if not data:
            return
        targets = self.all()
        targets[data[0] % len(targets)][1](data[1:])

    def corpus(self) -> list[bytes]:
        """Inputs that reach each target's deep paths, to start from."""
        from datetime import datetime
        from uuid import UUID

        from flask.json.tag import TaggedJSONSerializer
        from markupsafe import Markup

        from flask_scopes.codecs.encoding import b64decode
        from flask_scopes.codecs.tagged import dumps

        index = {name: bytes([i]) for i, (name, _) in enumerate(self.all())}
        samples = [
            {},
            {"user": "ann", "n": 1},
            {"t": (1, 2), "b": b"\x00", "u": UUID(int=5)},
            {"d": datetime(2024, 1, 2, 3, 4, 5, 6)},
            {"m": Markup("<b>x</b>"), " t": [b"x"]},
            {"nested": {" di": {"a": [1.5, None, True]}}},
        ]
        bodies = [dumps(1, 2, d)[0] for d in samples]
        flask_bodies = [TaggedJSONSerializer().dumps(d).encode() for d in samples]
        out = []
        for seed in self.seeds:
            raw = seed.value.encode("latin-1")
            out.append(index["session codec, any value"] + raw)
            out.append(index["flask reader, any value"] + raw)
            out.append(index["request, session cookie"] + raw)
            for i in range(len(self.seeds)):
                out.append(index["request, mutated session cookie"] + bytes([i]))
        for i, body in enumerate(bodies):
            for header in range(4):
                out.append(
                    index["session codec, signed junk"] + bytes([header, i]) + body
                )
        for body in flask_bodies:
            out.append(index["flask reader, signed junk"] + b"\x00" + body)
            out.append(index["flask reader, signed junk"] + b"\x01" + body)
        for body in bodies:
            out.append(index["decompress"] + b"\xff" + self.zlib.compress(body))
        out.append(index["request, flash cookie"] + b"[]")
        from ..cookie_cases import flash_samples
        from ..cookie_cases import typed_flash_samples

        batches = flash_samples()
        for codec in self.flash_codecs.values():
            for sample in batches:
                value = codec.encode(sample).encode("ascii")
                out.append(index["flash codec, any value"] + value)
                out.append(index["request, flash cookie"] + value)
        for sample in typed_flash_samples():
            value = self.flash_codecs["signed"].encode(sample).encode("ascii")
            out.append(index["flash codec, any value"] + value)
        for sample in [*batches, *typed_flash_samples()]:
            for flags in (0, 1):
                body = self.flash_codecs["signed"].encode(sample)
                raw = b64decode(body.rpartition(".")[0][2:])
                out.append(index["flash codec, any body"] + bytes([flags]) + raw)
        return out

    # -- the targets -----------------------------------------------------------

    def _check_decoded(self, result: tuple[t.Any, ...]) -> None:
        created, touched, data, index = result
        assert type(created) is int and type(touched) is int, result
        assert type(data) is dict and index in (0, 1), result

    def session_codec(self, data: bytes) -> None:
        try:
            self._check_decoded(self.codec.decode(data.decode("latin-1")))
        except self.BadCookie:
            pass

    def session_codec_signed(self, data: bytes) -> None:
        """A valid signature over any header and body: what only the key's
        owner could make, to reach the parser's deep paths."""
        if len(data) < 2:
            return
        header = ("1", "1t", "1z", "1tz", "2")[data[0] % 5]
        body = data[2:]
        if "z" in header and data[1] & 1:
            body = self.zlib.compress(body)
        from flask_scopes.codecs.encoding import b64encode

        value = self.ring.sign(f"{header}.{b64encode(body)}")
        try:
            self._check_decoded(self.codec.decode(value))
        except self.BadCookie:
            pass

    def flask_reader(self, data: bytes) -> None:
        try:
            signed, session = self.reader.decode(data.decode("latin-1"), 31 * 86400)
        except self.BadCookie:
            return
        assert type(signed) is int and type(session) is dict

    def flask_reader_signed(self, data: bytes) -> None:
        from flask_scopes.codecs.encoding import b64encode

        compress = bool(data[:1]) and data[0] & 1
        payload = self.zlib.compress(data[1:]) if compress else data[1:]
        body = (b"." if compress else b"") + b64encode(payload).encode()
        value = self.flask_signer.sign(body).decode("ascii")
        try:
            signed, session = self.reader.decode(value, 31 * 86400)
        except self.BadCookie:
            return
        assert type(signed) is int and type(session) is dict

    def decompress(self, data: bytes) -> None:
        from flask_scopes.codecs.encoding import decompress

        limit = data[0] * 16 if data else 0
        try:
            out = decompress(data[1:], limit)
        except self.BadCookie:
            return
        assert len(out) <= limit

    def _request(self, path: str, header: str) -> None:
        self.seen = {"not": "read"}
        response = self.client.get(path, environ_overrides={"HTTP_COOKIE": header})
        if response.status_code != 200:
            raise AssertionError(f"{response.status_code} for Cookie: {header!r}")

    def session_request(self, data: bytes) -> None:
        self._check_session("session=" + data.decode("latin-1"))

    def _check_session(self, header: str) -> None:
        from ..cookie_cases import allowed_sessions

        self._request("/session", header)
        allowed = allowed_sessions(header, self.seeds)
        if self.seen not in allowed:
            raise AssertionError(f"{header!r} gave {self.seen!r}, not {allowed!r}")

    def mutated_session_request(self, data: bytes) -> None:
        from ..cookie_cases import mutate

        if not data:
            return
        seed = self.seeds[data[0] % len(self.seeds)]
        self._check_session("session=" + mutate(seed.value, data[1:], self.seeds))

    def flash_request(self, data: bytes) -> None:
        self._request("/flash", "flash=" + data.decode("latin-1"))

    def flash_codec(self, data: bytes) -> None:
        """Any text as the flash cookie's value, as a WSGI server gives it
        (latin-1) and as any str (lone surrogates included), to the
        unsigned and the signed codec."""
        for text in (data.decode("latin-1"), data.decode("utf-8", "surrogateescape")):
            for codec in self.flash_codecs.values():
                self.check_flash(codec, text)

    def flash_codec_body(self, data: bytes) -> None:
        """Any bytes as the body of a flash cookie in its format: as it
        is (unsigned), and with a valid signature by the key or the
        fallback (what only the key's owner could make), to reach the
        structure checks of both codecs."""
        from flask_scopes.codecs.encoding import b64encode

        if not data:
            return
        value = f"1.{b64encode(data[1:])}"
        self.check_flash(self.flash_codecs["unsigned"], value)
        signed = self.flash_signers[data[0] & 1].sign(value)
        self.check_flash(self.flash_codecs["signed"], signed)
        # The signed value, to the unsigned codec.
        self.check_flash(self.flash_codecs["unsigned"], signed)


# -- running ---------------------------------------------------------------------


def _option(argv: list[str], name: str) -> float | None:
    for arg in argv:
        if arg.startswith(f"-{name}="):
            return float(arg.partition("=")[2])
    return None


def _escape(token: str) -> str:
    """A token in libFuzzer's dictionary syntax."""
    out = []
    for byte in token.encode("latin-1"):
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def run_atheris(argv: list[str]) -> int:
    """Run libFuzzer in a child process, which exits when it is done, and
    clean up after it: the seed corpus and the dictionary go in a temporary
    directory that is kept only when it holds a crash to replay."""
    work = Path(tempfile.mkdtemp(prefix="fuzz-cookies-"))
    try:
        if not any(a.startswith("-artifact_prefix=") for a in argv):
            argv = [*argv, f"-artifact_prefix={work}/"]
        if not any(a.startswith("-dict=") for a in argv):
            tokens = work / "cookies.dict"
            tokens.write_text("".join(f'"{_escape(tok)}"\n' for tok in DICTIONARY))
            argv = [*argv, f"-dict={tokens}"]
        if not [a for a in argv[1:] if not a.startswith("-")]:
            corpus = work / "corpus"
            corpus.mkdir()
            for i, unit in enumerate(Targets().corpus()):
                (corpus / f"seed-{i}").write_bytes(unit)
            argv = [*argv, str(corpus)]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
            ),
        }
        command = [sys.executable, "-m", MODULE, CHILD, *argv[1:]]
        return subprocess.run(command, env=env).returncode
    finally:
        crashes = [*work.glob("crash-*"), *work.glob("timeout-*"), *work.glob("oom-*")]
        if crashes:
            print(f"kept for replay: {', '.join(map(str, crashes))}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def fuzz_with_atheris(argv: list[str]) -> None:
    """The child: instrument flask-scopes and hand over to libFuzzer."""
    import atheris  # type: ignore[import-not-found]

    with atheris.instrument_imports(include=["flask_scopes"]):
        import flask_scopes.codecs.signed  # noqa: F401
        import flask_scopes.flash.codec  # noqa: F401
        import flask_scopes.flash.scope  # noqa: F401
        import flask_scopes.interface  # noqa: F401
        import flask_scopes.session  # noqa: F401
    targets = Targets()
    atheris.Setup(argv, targets.one_input)
    atheris.Fuzz()


def _round(targets: Targets, index: int, inputs: t.Any, count: int) -> None:
    """Run one target on ``count`` inputs under hypothesis."""
    from hypothesis import given
    from hypothesis import HealthCheck
    from hypothesis import settings

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=inputs)
    def run(data: bytes) -> None:
        targets.one_input(bytes([index]) + data)

    run()


def run_hypothesis(argv: list[str]) -> int:
    """Run every target under hypothesis in rounds until the time or the
    input budget is spent. Returns the exit status."""
    from hypothesis import strategies as st

    max_time = _option(argv, "max_total_time") or 60.0
    max_runs = int(_option(argv, "runs") or 10**9)
    targets = Targets()
    names = [name for name, _ in targets.all()]
    # Small input budgets are shared out, so that every target runs.
    per_round = max(1, min(200, max_runs // len(names)))
    runs = 0
    deadline = time.monotonic() + max_time
    started = time.monotonic()
    corpus = targets.corpus()

    def splice(unit: bytes, pos: int, junk: bytes, cut: int) -> bytes:
        pos %= len(unit) + 1
        return unit[:pos] + junk + unit[pos + cut :]

    def inputs(index: int) -> st.SearchStrategy[bytes]:
        # Random bytes, or a corpus unit of this target with a splice.
        units = [unit[1:] for unit in corpus if unit[0] == index] or [b""]
        return st.one_of(
            st.binary(max_size=2048),
            st.builds(
                splice,
                st.sampled_from(units),
                st.integers(0, 4096),
                st.binary(max_size=8),
                st.integers(0, 8),
            ),
        )

    while time.monotonic() < deadline and runs < max_runs:
        for index, name in enumerate(names):
            if time.monotonic() >= deadline or runs >= max_runs:
                break
            count = min(per_round, max_runs - runs)

            try:
                _round(targets, index, inputs(index), count)
            except Exception:
                print(f"FAILED: {name}", file=sys.stderr)
                raise
            runs += count
    elapsed = time.monotonic() - started
    print(
        f"hypothesis: {runs} inputs over {len(names)} targets in {elapsed:.1f} s,"
        " no failure"
    )
    return 0


def main(argv: list[str]) -> int:
    if CHILD in argv:
        fuzz_with_atheris([a for a in argv if a != CHILD])
        return 0
    use_hypothesis = "--hypothesis" in argv
    argv = [a for a in argv if a != "--hypothesis"]
    if not use_hypothesis:
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("atheris is not installed: fuzzing with hypothesis", file=sys.stderr)
            use_hypothesis = True
    if use_hypothesis:
        return run_hypothesis(argv)
    return run_atheris(argv)


if __name__ == "__main__":
    if not __package__:
        sys.exit(f"Run it from the repository root: python -m {MODULE} [options]")
    sys.exit(main(sys.argv))
