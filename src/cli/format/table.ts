/**
 * Go's text/tabwriter as docker configures it (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`):
 * tab-terminated cells are padded to the widest cell of their column block plus 3, and never
 * narrower than 10; the text after the last tab is written as is.
 */
export interface TabOptions {
  minWidth?: number;
  padding?: number;
}

const width = (s: string) => [...s].length;

export function tabulate(text: string, opts: TabOptions = {}): string {
  const minWidth = opts.minWidth ?? 10;
  const padding = opts.padding ?? 3;
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[][] = lines.map(() => []);

  // A column block is a run of consecutive lines that all have a terminated cell in the column.
  const format = (line0: number, line1: number, column: number): void => {
    let i = line0;
    while (i < line1) {
      if (column >= lines[i].length - 1) {
        i++;
        continue;
      }
      let j = i;
      let w = minWidth;
      while (j < line1 && column < lines[j].length - 1) {
        w = Math.max(w, width(lines[j][column]) + padding);
        j++;
      }
      for (let k = i; k < j; k++) widths[k][column] = w;
      format(i, j, column + 1);
      i = j;
    }
  };
  format(0, lines.length, 0);

  const out = lines.map((cells, li) =>
    cells.map((c, ci) => (ci < cells.length - 1 ? c + ' '.repeat(Math.max(0, widths[li][ci] - width(c))) : c)).join(''),
  );
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}
