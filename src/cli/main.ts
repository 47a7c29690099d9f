// The `rvisor` command: parses the verb and hands over to its module. Every user-facing failure is
// an RvisorError, printed as one line with a stable exit status; anything else is a bug and says so.
import { RvisorError } from '../errors.js';
import { EXEC_USAGE, execCommand } from './exec.js';

const USAGE = `usage: rvisor <command> [options]

commands:
  run [options]  boot a Linux guest on the virtual board (no options: the bundled image);
                 "rvisor run --help" lists the options
  exec [--sysroot DIR] [--strace] [--trace] [--stats] [--jit on|off] PROG [ARGS...]
                 run one riscv64 Linux program on this host (process VM);
                 "rvisor exec --help" lists the options
  serve [--state-dir DIR] [--pcpus N] [--listen HOST:PORT]
                 run the hypervisor host: many VMs, their API on a Unix socket (and TCP)
  vm VERB [...]  drive the host's VMs (define, list, start, console, ...);
                 "rvisor vm --help" lists the verbs
  img VERB [...] make and inspect disk images (create, info, check; raw and qcow2);
                 "rvisor img --help" lists the verbs
  help [COMMAND] show this text, or the options of COMMAND`;

export async function cli(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    switch (verb) {
      case 'exec':
        return await execCommand(rest);
      // Loaded on demand: a process VM start (`exec`, run once per guest program by scripts and
      // test suites) does not pay for loading the system VM's board, devices and snapshots, nor
      // the host and its API (fastify).
      case 'run':
        return await (await import('./run.js')).runCommand(rest);
      case 'serve':
        return await (await import('./serve.js')).serveCommand(rest);
      case 'vm':
        return await (await import('./vm.js')).vmCommand(rest);
      case 'img':
        return await (await import('./img.js')).imgCommand(rest);
      case undefined:
        // No command is a usage error: the text goes to stderr and the status says so.
        throw new RvisorError('USAGE', `no command given\n${USAGE}`);
      case 'help':
      case '--help':
      case '-h': {
        // Help is a success: stdout, status 0 (for every verb: "rvisor run --help" too).
        const topic = rest[0];
        const text = topic === undefined ? USAGE : topic === 'run' ? (await import('./run.js')).RUN_USAGE : topic === 'exec' ? EXEC_USAGE
          : topic === 'serve' ? (await import('./serve.js')).SERVE_USAGE : topic === 'vm' ? (await import('./vm.js')).VM_USAGE
          : topic === 'img' ? (await import('./img.js')).IMG_USAGE : undefined;
        if (text === undefined) throw new RvisorError('USAGE', `help: unknown command "${topic}" (commands: run, exec, serve, vm, img)`);
        process.stdout.write(text + '\n');
        return 0;
      }
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
