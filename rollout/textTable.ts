// Plain-text tables for the terminal: cli-table3 laying out the columns, without borders or colours, so the lines read as text and grep well.
import Table from "cli-table3";

const NO_BORDER = {
    top: "", "top-mid": "", "top-left": "", "top-right": "",
    bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
    left: "", "left-mid": "", mid: "", "mid-mid": "",
    right: "", "right-mid": "", middle: "  ",
};

/** How a column's cells line up: text on the left, numbers usually on the right. */
export type ColumnAlign = "left" | "right";

/**
 * Lays out `rows` under `head` in columns two spaces apart, each as wide as
 * its widest cell, with no trailing spaces; `indent` goes before every line.
 * An empty `head` prints no head line; `align` sets a column's alignment
 * (left when not given).
 */
export function textTable(head: readonly string[], rows: readonly (readonly string[])[], indent = "", align: readonly ColumnAlign[] = []): string[] {
    const table = new Table({ head: [...head], colAligns: [...align], chars: NO_BORDER, style: { head: [], border: [], "padding-left": 0, "padding-right": 0 } });
    table.push(...rows.map((row) => [...row]));
    return table
        .toString()
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => `${indent}${line}`.trimEnd());
}
