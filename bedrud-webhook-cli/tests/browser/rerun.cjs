// Runs a dead delivery again from the dashboard, as an operator would, in
// headless Chromium driven by puppeteer-core (tests/dashboard.rs).
//
//   NODE_PATH=…/node_modules node rerun.cjs CHROMIUM http://ADMIN TOKEN ID
//
// The token is given as the password the browser asks for. Prints one JSON
// object: what apalis-board's page of failed tasks rendered, then /dead
// before and after the delivery's "Run again" button was clicked.
const puppeteer = require("puppeteer-core");

async function main() {
  const [chromium, base, token, id] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.authenticate({ username: "operator", password: token });
    const board = await page.goto(`${base}/queues/bedrud-deliveries/Failed`);
    // The board is a wasm app: it lists the tasks once its API answers.
    await page.waitForFunction((id) => document.body.innerText.includes(id), { timeout: 30000 }, id);
    const boardText = await page.evaluate(() => document.body.innerText);
    const dead = await page.goto(`${base}/dead`);
    const before = await page.evaluate(() => document.body.innerText);
    const [after] = await Promise.all([
      page.waitForNavigation(),
      page.click(`form[action="/dead/${id}/rerun"] button`),
    ]);
    console.log(JSON.stringify({
      board: { status: board.status(), text: boardText },
      dead: { status: dead.status(), text: before },
      rerun: { status: after.status(), url: page.url(), text: await page.evaluate(() => document.body.innerText) },
    }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
