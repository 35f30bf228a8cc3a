/**
 * @module report/style
 * Colour and layout primitives for text renderers. Renderers get `color` as data (the CLI decides it from
 * NO_COLOR, FORCE_COLOR and whether stdout is a TTY), so they stay pure.
 */
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export interface TextOptions {
  color: boolean;
}

export function colors(options: TextOptions): Colors {
  return pc.createColors(options.color);
}

/** Visible width of a string (ANSI colour codes do not count). */
export function visibleWidth(s: string): number {
  return [...s.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

/**
 * Lays rows out in aligned columns separated by two spaces; `right` lists the columns aligned right.
 * The last column is never padded, so lines carry no trailing spaces.
 */
export function alignColumns(rows: readonly (readonly string[])[], right: readonly number[] = []): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleWidth(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        if (i === row.length - 1 && !right.includes(i)) return cell;
        const pad = ' '.repeat((widths[i] ?? 0) - visibleWidth(cell));
        return right.includes(i) ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}
