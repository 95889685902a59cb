// Answers every request with a duration formatted by the `ms` package package.json installs.
const http = require("http");
const ms = require("ms");

const port = Number(process.env.PORT || 3000);
http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end(`one minute is ${ms(60000)}\n`);
  })
  .listen(port, "0.0.0.0", () => console.log(`clock listening on ${port}`));
