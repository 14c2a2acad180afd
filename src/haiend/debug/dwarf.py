"""What a debugger reads from DWARF: the address of a source line, and where a local variable lives.

A compiler run with ``-g`` writes three tables a debugger needs into the program's ELF file:

* the **line table** (``.debug_line``): a state machine whose rows map machine addresses to
  (file, line, column, is_stmt). A breakpoint on ``file.c:N`` goes at the lowest address of a row
  for line N marked ``is_stmt`` (the start of a statement), as gdb does for a line in one block;
* the **debugging information entries** (``.debug_info``): a tree of compile units, functions
  (with ``DW_AT_frame_base``), lexical blocks and variables, each variable with a type and a
  location expression. At ``-O0`` gcc puts every local at ``DW_OP_fbreg(offset)``: ``offset``
  bytes from the function's frame base, which is ``DW_OP_call_frame_cfa``;
* the **call frame information** (``.eh_frame``): for every address of a function, how to compute
  the canonical frame address (CFA, the stack pointer before the call). After the prologue
  (``push rbp; mov rbp, rsp``) it is ``rbp + 16`` on x86-64.

pyelftools decodes all three; this module asks them the three questions above and nothing else.
Addresses here are the ELF's own (link-time) addresses: for a position-independent executable
add the load base the kernel chose (:func:`haiend.debug.ptrace.load_base`).
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from haiend.errors import HaiendError

# DWARF register numbers of x86-64 (System V psABI, figure 3.36) for the registers a CFA rule uses.
X86_64_DWARF_REGISTERS = {0: "rax", 1: "rdx", 2: "rcx", 3: "rbx", 4: "rsi", 5: "rdi", 6: "rbp", 7: "rsp"}
DW_ATE_FLOAT, DW_ATE_SIGNED, DW_ATE_UNSIGNED = 0x04, 0x05, 0x08
DW_OP_FBREG, DW_OP_CALL_FRAME_CFA = 0x91, 0x9C


@dataclass(frozen=True)
class Variable:
    """A local variable as DWARF describes it: ``frame_offset`` bytes from its function's frame base,
    or None when its location is something else (a register, a list of ranges: optimised code)."""

    name: str
    type_name: str
    size: int
    encoding: int | None  # DW_ATE_* of a base type; None for a pointer
    frame_offset: int | None
    function: str

    def decode(self, raw: bytes) -> int | float:
        """The value of the variable's ``size`` bytes (little-endian), by its type."""
        data = raw[: self.size]
        if self.encoding == DW_ATE_FLOAT:
            return struct.unpack({4: "<f", 8: "<d"}[self.size], data)[0]
        return int.from_bytes(data, "little", signed=self.encoding == DW_ATE_SIGNED)


@dataclass(frozen=True)
class FrameRule:
    """The CFA at one address: the value of ``register`` plus ``offset``."""

    register: str
    offset: int


def _elf(path: Path):
    from elftools.elf.elffile import ELFFile

    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise HaiendError(f"{path} cannot be read ({exc.strerror}).") from None
    try:
        elf = ELFFile(handle)
    except Exception:
        handle.close()
        raise HaiendError(f"{path} is not an ELF program.") from None
    return elf


def _dwarf(path: Path):
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise HaiendError(f"{path} cannot be read ({exc.strerror}).") from None
    return _dwarf_of(path, stamp)


@functools.cache
def _dwarf_of(path: Path, stamp: int):
    elf = _elf(path)
    if not elf.has_dwarf_info() or elf.get_section_by_name(".debug_info") is None:
        raise HaiendError(f"{path} has no DWARF debugging information: build it with -g.")
    return elf, elf.get_dwarf_info()


def is_pie(path: str | Path) -> bool:
    """True when ``path`` is position-independent (ELF type ET_DYN): its addresses move at load."""
    return _elf(Path(path)).header["e_type"] == "ET_DYN"


def _file_name(lineprog, index: int) -> str:
    entries = lineprog["file_entry"]
    entry = entries[index] if lineprog.header.version >= 5 else entries[index - 1]
    return entry.name.decode(errors="replace")


def line_rows(path: str | Path, source: str) -> dict[int, list[int]]:
    """Every line of ``source`` (a file name or path suffix) that has code: line -> its statement addresses."""
    _, dwarf = _dwarf(Path(path))
    wanted = PurePosixPath(source).parts
    rows: dict[int, list[int]] = {}
    for unit in dwarf.iter_CUs():
        lineprog = dwarf.line_program_for_CU(unit)
        if lineprog is None:
            continue
        for entry in lineprog.get_entries():
            state = entry.state
            if state is None or state.end_sequence or not state.is_stmt:
                continue
            parts = PurePosixPath(_file_name(lineprog, state.file)).parts
            if parts[-len(wanted) :] != wanted[-len(parts) :]:
                continue
            rows.setdefault(state.line, []).append(state.address)
    return rows


def line_address(path: str | Path, source: str, line: int) -> int:
    """The address (in the ELF) of the first instruction of ``source:line``, from the line table."""
    rows = line_rows(path, source)
    if not rows:
        raise HaiendError(f"{Path(path).name} has no line table rows for a file named {source}.")
    if line not in rows:
        near = sorted(rows, key=lambda n: (abs(n - line), n))[:3]
        raise HaiendError(
            f"{source}:{line} has no code in {Path(path).name} (nearest lines with code: "
            f"{', '.join(str(n) for n in sorted(near))})."
        )
    return min(rows[line])


def _attr(die, name: str):
    value = die.attributes.get(name)
    return None if value is None else value.value


def _contains(die, address: int) -> bool:
    low = _attr(die, "DW_AT_low_pc")
    high = die.attributes.get("DW_AT_high_pc")
    if low is None or high is None:
        return False
    end = high.value if high.form == "DW_FORM_addr" else low + high.value
    return low <= address < end


def _type(die) -> tuple[str, int, int | None]:
    """(name, size in bytes, DW_ATE encoding) of a variable's type, through typedefs and qualifiers."""
    current = die.get_DIE_from_attribute("DW_AT_type")
    while current.tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type"):
        current = current.get_DIE_from_attribute("DW_AT_type")
    if current.tag == "DW_TAG_pointer_type":
        return "pointer", _attr(current, "DW_AT_byte_size") or 8, None
    name = (_attr(current, "DW_AT_name") or b"?").decode()
    return name, _attr(current, "DW_AT_byte_size"), _attr(current, "DW_AT_encoding")


def variables_at(path: str | Path, address: int) -> dict[str, Variable]:
    """The local variables in scope at ``address`` (an inner block's name hides an outer one's)."""
    _, dwarf = _dwarf(Path(path))
    for unit in dwarf.iter_CUs():
        for function in unit.get_top_DIE().iter_children():
            if function.tag != "DW_TAG_subprogram" or not _contains(function, address):
                continue
            if _attr(function, "DW_AT_frame_base") != [DW_OP_CALL_FRAME_CFA]:
                raise HaiendError(
                    f"the frame base of {_attr(function, 'DW_AT_name').decode()} is not DW_OP_call_frame_cfa: "
                    "build the program with -O0."
                )
            name = _attr(function, "DW_AT_name").decode()
            found: dict[str, Variable] = {}
            scopes = [function]
            while scopes:
                scope = scopes.pop(0)
                for die in scope.iter_children():
                    if die.tag == "DW_TAG_lexical_block" and _contains(die, address):
                        scopes.append(die)
                    elif die.tag in ("DW_TAG_variable", "DW_TAG_formal_parameter"):
                        location = _attr(die, "DW_AT_location")
                        if _attr(die, "DW_AT_name") is None or location is None:
                            continue  # unnamed, or optimised away entirely
                        at_frame = isinstance(location, list) and location and location[0] == DW_OP_FBREG
                        offset = _sleb128(location[1:]) if at_frame else None  # else a register, a location list
                        type_name, size, encoding = _type(die)
                        var = _attr(die, "DW_AT_name").decode()
                        found[var] = Variable(var, type_name, size, encoding, offset, name)
            return found
    raise HaiendError(f"no function with debugging information contains address {address:#x}.")


def _sleb128(data: list[int]) -> int:
    result = shift = 0
    for byte in data:
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result
    raise HaiendError("a DWARF location expression ends inside a number.")


def frame_rule(path: str | Path, address: int) -> FrameRule:
    """How to compute the CFA at ``address``, from the call frame information (.eh_frame)."""
    _, dwarf = _dwarf(Path(path))
    entries = dwarf.EH_CFI_entries() if dwarf.has_EH_CFI() else dwarf.CFI_entries() if dwarf.has_CFI() else []
    for entry in entries:
        header = getattr(entry, "header", {})
        if "initial_location" not in header:
            continue  # a CIE, or a terminator
        start = header["initial_location"]
        if not start <= address < start + header["address_range"]:
            continue
        rule = None
        for row in entry.get_decoded().table:
            if row["pc"] > address:
                break
            rule = row["cfa"]
        if rule is None or rule.reg is None:
            break
        return FrameRule(X86_64_DWARF_REGISTERS.get(rule.reg, f"r{rule.reg}"), rule.offset)
    raise HaiendError(f"no call frame information covers address {address:#x}.")
