// The console's page and stylesheet, beside the modules tsc compiled into dist/console (npm run build).
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync('dist/console', { recursive: true });
for (const file of ['index.html', 'console.css']) copyFileSync(`src/console/${file}`, `dist/console/${file}`);
