"""The AAR step's lines in the build report: per AAR what is inside (recipe, ABIs, engines) and what is missing."""

from __future__ import annotations

from mobilesdk.packaging import PackagingResult


def size_text(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def packaging_lines(result: PackagingResult) -> list[str]:
    lines = []
    for a in result.aars:
        abis = ", ".join(a.abis) or "none"
        engines = "; ".join(a.engines) or "none"
        lines.append(f"{a.path.name} ({size_text(a.bytes)}, {a.recipe}): {a.coordinate}")
        lines.append(
            ("  ready for a phone" + (" (see the notes)" if a.notes else ""))
            if a.ready_for_phone
            else "  NOT ready for a phone: it lacks what 'missing' says"
        )
        lines.append(f"  facade {a.facade}; ABIs: {abis}; engines: {engines}")
        for what in a.missing:
            lines.append(f"  missing: {what}")
        for what in a.notes:
            lines.append(f"  note: {what}")
    c = result.compile
    runtime = "cached" if c.runtime_cached else f"compiled in {c.runtime_seconds:.1f} s"
    facades = (
        f"{c.facades_compiled} compiled in {c.facade_seconds:.1f} s"
        if c.facades_compiled
        else "none compiled"
    )
    lines.append(f"Kotlin: runtime {runtime}; facades: {facades}, {c.facades_cached} cached")
    if result.m2 is not None and result.module_dir is not None:
        lines.append(f"Maven repository {result.m2}; Gradle module sources {result.module_dir}")
    ready = result.phone_ready
    if ready:
        use = ", ".join(f'implementation("{a.coordinate}")' for a in ready)
        lines.append(
            f'For an app today: {use} from the Maven repository above (README: "Android quickstart")'
        )
    else:
        lines.append("No AAR of this build is ready for a phone (see 'missing' above)")
    return lines
