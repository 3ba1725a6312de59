// The image's ENTRYPOINT: runs the app APP names in this process, so the app is PID 1 and gets
// the container's SIGTERM itself (it drains, then exits 0).
import { chosenApp } from './apps.mjs';

if (process.argv.length > 2) {
  process.stderr.write(`image: the app is chosen by APP (api, dispatcher or worker), not by arguments (got ${process.argv.slice(2).join(' ')})\n`);
  process.exit(2);
}
await import(new URL(chosenApp().main, import.meta.url).href);
