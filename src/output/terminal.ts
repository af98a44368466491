/** A client's terminal size, when it asked for one (ssh -t). */
export interface TerminalSize {
  rows: number;
  cols: number;
}
