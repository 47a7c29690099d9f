// The `rvisor` command: parses the verb and hands over to its module. Every user-facing failure is
// an RvisorError, printed as one line with a stable exit status; anything else is a bug and says so.
import { RvisorError } from '../errors.js';
import { execCommand } from './exec.js';
import { runCommand } from './run.js';

const USAGE = `usage: rvisor <command> [options]

commands:
  run [options]  boot a Linux guest on the virtual board (no options: the bundled image);
                 "rvisor run --help" lists the options
  exec [--sysroot DIR] [--strace] [--trace] [--stats] PROG [ARGS...]
                 run one riscv64 Linux program on this host (process VM)
  help           show this text`;

export async function cli(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    switch (verb) {
      case 'exec':
        return await execCommand(rest);
      case 'run':
        return await runCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return verb === undefined ? 2 : 0;
      default:
        throw new RvisorError('USAGE', `unknown command "${verb}" (try "rvisor help")`);
    }
  } catch (e) {
    if (e instanceof RvisorError) {
      process.stderr.write(`rvisor: ${e.message}\n`);
      return e.exitStatus;
    }
    process.stderr.write(`rvisor: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 70;
  }
}
