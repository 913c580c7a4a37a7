// A Node.js client: node-soap (npm "soap") reading the connector's WSDL at run time.
// Usage: node client.js BASE_URL PACKAGE_FILE MESSAGE_ID DOSSIER_CODE PROCEDURE_CODE
// Prints: "sent STATE EXCHANGE_ID", "status EXCHANGE_ID STATE", "fault CODE FIELD".
"use strict";
const fs = require("fs");
const soap = require("soap");

// Credentials, when the connector asks for them, from the environment: node-soap sets a
// WS-Security UsernameToken (PasswordDigest) or HTTP Basic on the client.
function authenticate(client) {
  const user = process.env.CONNECTOR_USERNAME;
  if (!user) return;
  const password = process.env.CONNECTOR_PASSWORD;
  if (process.env.CONNECTOR_AUTH === "basic") {
    client.setSecurity(new soap.BasicAuthSecurity(user, password));
  } else {
    client.setSecurity(new soap.WSSecurity(user, password, { passwordType: "PasswordDigest", hasTimeStamp: false }));
  }
}

async function main([baseUrl, packageFile, messageId, dossierCode, procedureCode]) {
  const client = await soap.createClientAsync(`${baseUrl}/soap?wsdl`);
  authenticate(client);
  // node-soap's default: the shortcut methods (client.sendDocumentAsync) on the WSDL's one port.
  const call = async (operation, args) => (await client[`${operation}Async`](args))[0];

  const sent = await call("sendDocument", {
    messageId,
    edxmlPackage: fs.readFileSync(packageFile).toString("base64"), // node-soap sends strings as they are
    kind: "INCOMING",
    senderUsername: "cbtiepnhan",
    dossier: { dossierCode, procedureCode },
  });
  console.log(`sent ${sent.receipt.state} ${sent.receipt.exchangeId}`);

  const status = await call("getStatus", { dossierCode });
  console.log(`status ${status.exchange.exchangeId} ${status.exchange.state}`);

  try {
    await call("getStatus", { dossierCode: "no-such-dossier" });
    console.log("fault none");
  } catch (error) {
    // node-soap parses the fault; the WSDL's typed detail is tns:ConnectorFault.
    const detail = error.root.Envelope.Body.Fault.detail.ConnectorFault;
    console.log(`fault ${detail.code} ${detail.field}`);
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error.stack || error);
  process.exit(1);
});
