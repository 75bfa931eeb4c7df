"""Emulated arm64 cost: instructions per stage of the arm64 runner bundle, counted under qemu-aarch64 with an
instruction-counting plugin, on named CPU profiles standing for phone cores (`mobilesdk bench --emulate arm64`;
docs/emulated-cost.md). Instructions (emulated), not time."""
