// The home page: a scan here is looked up. It is kept with the lookup page's waiting scans
// and the lookup page opens to send it, so nothing scanned on the way is lost.

import * as outbox from "./outbox.js";
import { captureScans, scannerSettings } from "./scanner.js";

const target = document.querySelector("[data-scan-to]");
const user = document.body.dataset.user;

captureScans({
  ...scannerSettings(),
  onScan: async (code, entry) => {
    await outbox.add({ scan_id: outbox.newId(), flow: "lookup", user, body: { scan: { code, entry } }, made: Date.now() });
    window.location.assign(target.dataset.scanTo);
  },
});
