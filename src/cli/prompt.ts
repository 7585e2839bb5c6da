import { Exit } from './errors.js';
import type { IO } from './session.js';

/*
 * Questions on the terminal for `login` (and for the login a pull or push asks for when the
 * daemon answers 401): one line of input, the password without echo.
 */

/** Reads up to the end of a line (or of the input); the line without its newline. */
function readLine(io: IO): Promise<string> {
  const stdin = io.stdin;
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.off('end', finish);
      stdin.off('error', onError);
      stdin.pause();
      resolve(buf.split('\n')[0].replace(/\r$/, ''));
    };
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      if (buf.includes('\n')) finish();
    };
    const onError = (err: Error) => {
      stdin.off('data', onData);
      stdin.off('end', finish);
      reject(err);
    };
    stdin.on('data', onData);
    stdin.once('end', finish);
    stdin.once('error', onError);
    stdin.resume();
  });
}

/** Prints `question` and reads the answer, trimmed as docker trims it. */
export async function ask(io: IO, question: string): Promise<string> {
  io.stdout.write(question);
  return (await readLine(io)).trim();
}

/**
 * Prints `question` and reads a secret: on a terminal in raw mode, so nothing is echoed
 * (backspace edits, Ctrl-C gives up with 130 as a shell's interrupt); elsewhere one line.
 */
export async function askSecret(io: IO, question: string): Promise<string> {
  io.stdout.write(question);
  const stdin = io.stdin;
  if (!stdin.isTTY || !stdin.setRawMode) return (await readLine(io)).trim();
  stdin.setRawMode(true);
  try {
    return await new Promise<string>((resolve, reject) => {
      let secret = '';
      const stop = () => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
      };
      const onEnd = () => {
        stop();
        resolve(secret.trim());
      };
      const onData = (d: Buffer | string) => {
        for (const ch of d.toString()) {
          if (ch === '\r' || ch === '\n' || (ch === '\x04' && !secret)) return onEnd();
          if (ch === '\x03') {
            stop();
            io.stdout.write('\n');
            return reject(new Exit(130));
          }
          if (ch === '\x7f' || ch === '\b') secret = [...secret].slice(0, -1).join('');
          else if (ch >= ' ') secret += ch;
        }
      };
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.resume();
    });
  } finally {
    stdin.setRawMode(false);
  }
}
