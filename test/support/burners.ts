/**
 * CPU-burning sibling processes, for tests that must hold on a loaded machine. Each one spins and
 * checks now and then whether the test process that started it is still there, so a test process
 * that dies (a crashed worker takes it down) leaves none behind to load the rest of the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const SPIN = `const parent = Number(process.argv[1]); for (let i = 0; ; i++) { if (i % 5e7 === 0) { try { process.kill(parent, 0); } catch { process.exit(0); } } }`;

export function startBurners(count = 2): { stop(): void } {
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    children.push(spawn(process.execPath, ['-e', SPIN, String(process.pid)], { stdio: 'ignore' }));
  }
  return {
    stop() {
      for (const child of children) child.kill('SIGKILL');
    },
  };
}
