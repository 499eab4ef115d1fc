/** Starts the etagkit CLI as a child process and waits for its `listening on` line. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface RunningCli {
  url: string;
  child: ChildProcess;
  /** Everything the CLI printed so far, stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * `as` runs the CLI as another user (for permission tests; needs root); `label` is the word before ` on http://…`
 * in the line to wait for (`dashboard` for `etagkit watch --ui`).
 */
export async function startCli(
  args: string[],
  as: { uid?: number; gid?: number } = {},
  label = 'listening',
): Promise<RunningCli> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...as });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const m = new RegExp(`${label} on (http://\\S+)`).exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    child.once('exit', (code) =>
      reject(new Error(`etagkit exited with ${code} before listening:\n${output}`)),
    );
  });
  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
