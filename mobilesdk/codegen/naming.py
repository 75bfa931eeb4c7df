"""Every identifier the generated Android code uses, derived from a model id in one place.

Model ids come from cards (kebab-case) but also from manifests written by hand or by other tools, so the
functions here accept any text: dotted or snake ids, leading digits, Kotlin and Java keywords, unicode
(folded to ASCII: Android namespaces, Maven coordinates and Java package names outside ASCII break tools).
Text with no ASCII letter or digit left gets a stable name from its hash, never an empty one.

=====================  ========================================  ================================
what                   rule                                      ``movepose-xs``, runtime executorch
=====================  ========================================  ================================
class stem             PascalCase words; ``Model`` before a digit ``MoveposeXs``
facade class           stem + ``PoseEstimator``                  ``MoveposeXsPoseEstimator``
keypoint constant      UPPER_SNAKE words; ``K_`` before a digit;  ``left_wrist`` -> ``LEFT_WRIST``
                       ``_<index>`` when taken
package segment        lowercase words joined by ``_``; ``_``     ``movepose_xs``
                       before a digit; keywords get ``_`` after
Kotlin package         ``io.mobilesdk.models.<segment>.<runtime>``  ``io.mobilesdk.models.movepose_xs.executorch``
Maven artifactId       lowercase words joined by ``-`` + runtime  ``movepose-xs-executorch``
=====================  ========================================  ================================
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata

PACKAGE_ROOT = "io.mobilesdk.models"
GROUP_ID = "io.mobilesdk.models"
FACADE_SUFFIX = "PoseEstimator"

# Kotlin hard keywords (cannot be identifiers anywhere) and Java keywords/literals (a package segment must be
# usable from Java code too: `import io.mobilesdk.models.int` does not compile).
KOTLIN_KEYWORDS = frozenset(
    [
        "as",
        "break",
        "class",
        "continue",
        "do",
        "else",
        "false",
        "for",
        "fun",
        "if",
        "in",
        "interface",
        "is",
        "null",
        "object",
        "package",
        "return",
        "super",
        "this",
        "throw",
        "true",
        "try",
        "typealias",
        "typeof",
        "val",
        "var",
        "when",
        "while",
    ]
)
JAVA_KEYWORDS = frozenset(
    [
        "abstract",
        "assert",
        "boolean",
        "break",
        "byte",
        "case",
        "catch",
        "char",
        "class",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extends",
        "final",
        "finally",
        "float",
        "for",
        "goto",
        "if",
        "implements",
        "import",
        "instanceof",
        "int",
        "interface",
        "long",
        "native",
        "new",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "short",
        "static",
        "strictfp",
        "super",
        "switch",
        "synchronized",
        "this",
        "throw",
        "throws",
        "transient",
        "try",
        "void",
        "volatile",
        "while",
        "true",
        "false",
        "null",
        "var",
        "yield",
        "record",
        "sealed",
        "permits",
        "non-sealed",
        "_",
    ]
)
KEYWORDS = KOTLIN_KEYWORDS | JAVA_KEYWORDS

_WORD = re.compile(r"[A-Za-z0-9]+")


def ascii_fold(text: str) -> str:
    """``text`` with accents removed and every other non-ASCII character dropped (NFKD decomposition)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def words(text: str) -> list[str]:
    """The ASCII letter/digit runs of ``text`` (after folding); a text without any gets one hash word."""
    found = _WORD.findall(ascii_fold(text))
    if found:
        return found
    return ["m" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]]


def class_stem(model_id: str) -> str:
    """PascalCase of the id's words (inner capitals kept); ``Model`` first when it would start with a digit."""
    stem = "".join(w[0].upper() + w[1:] for w in words(model_id))
    return "Model" + stem if stem[0].isdigit() else stem


def facade_class(model_id: str) -> str:
    return class_stem(model_id) + FACADE_SUFFIX


def package_segment(text: str) -> str:
    """One Java/Kotlin package segment: lowercase words joined by ``_``, never a keyword, never a digit first."""
    seg = "_".join(w.lower() for w in words(text))
    if seg[0].isdigit():
        seg = "_" + seg
    if seg in KEYWORDS:
        seg += "_"
    return seg


def model_package(model_id: str, runtime: str) -> str:
    """The facade's package; one per model and runtime, so both facades of a model can live in one app."""
    return f"{PACKAGE_ROOT}.{package_segment(model_id)}.{package_segment(runtime)}"


def artifact_id(model_id: str, runtime: str) -> str:
    """Maven artifactId (also the AAR's file stem): ``<id>-<runtime>`` in lowercase kebab-case."""
    return "-".join(w.lower() for w in [*words(model_id), *words(runtime)])


def keypoint_constants(names: list[str]) -> list[str]:
    """One Kotlin enum constant per keypoint name: UPPER_SNAKE of its words (``left_wrist`` -> ``LEFT_WRIST``,
    ``épaule`` -> ``EPAULE``); ``K_`` before a leading digit; a name whose constant is already taken gets
    ``_<index>`` appended (constants are upper case, so never a Kotlin or Java keyword)."""
    out: list[str] = []
    taken: set[str] = set()
    for i, name in enumerate(names):
        const = "_".join(w.upper() for w in words(name))
        if const[0].isdigit():
            const = "K_" + const
        if const in taken:
            const = f"{const}_{i}"
        taken.add(const)
        out.append(const)
    return out


# ---- literals ----------------------------------------------------------------------------------------------

_KOTLIN_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b"}


def kotlin_string(text: str) -> str:
    """A Kotlin string literal (double quotes) for any text: escapes, ``$`` templates disabled, controls as \\u."""
    out = []
    for ch in text:
        if ch in _KOTLIN_ESCAPES:
            out.append(_KOTLIN_ESCAPES[ch])
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or 0xD800 <= ord(ch) <= 0xDFFF or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def kotlin_double(value: float) -> str:
    """A Kotlin Double literal that reads back as exactly ``value`` (shortest repr; NaN/inf by name)."""
    value = float(value)
    if math.isnan(value):
        return "Double.NaN"
    if math.isinf(value):
        return "Double.POSITIVE_INFINITY" if value > 0 else "Double.NEGATIVE_INFINITY"
    text = repr(value)
    return text if any(c in text for c in ".eE") else text + ".0"


def kotlin_int(value: int) -> str:
    """Int when it fits 32 bits (what org.json yields for such a number), else a Long literal."""
    # -2**31 is not an Int literal in Kotlin (it is minus the Long 2147483648).
    if -(2**31) < value < 2**31:
        return str(value)
    if -(2**63) < value < 2**63:
        return f"{value}L"
    return kotlin_double(float(value))  # beyond Long: what org.json would make of it (a Double)


def kotlin_value(value) -> str:
    """A JSON-like value as the Kotlin expression ``ModelSpec.fromManifest`` would produce from it: Int/Long,
    Double, Boolean, String, null, ``listOf(...)``, ``mapOf(k to v, ...)`` (insertion order kept)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return kotlin_int(value)
    if isinstance(value, float):
        return kotlin_double(value)
    if isinstance(value, str):
        return kotlin_string(value)
    if isinstance(value, list | tuple):
        return "listOf(" + ", ".join(kotlin_value(v) for v in value) + ")" if value else "emptyList<Any?>()"
    if isinstance(value, dict):
        if not value:
            return "emptyMap<String, Any?>()"
        return (
            "mapOf("
            + ", ".join(f"{kotlin_string(str(k))} to {kotlin_value(v)}" for k, v in value.items())
            + ")"
        )
    raise TypeError(f"no Kotlin literal for {type(value).__name__}")
