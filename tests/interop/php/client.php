<?php
// A PHP client: ext/soap's SoapClient reading the connector's WSDL, with its default options
// (no "location": the WSDL's own address). CONNECTOR_SOAP_VERSION=1.2 adds the one option
// integrators often set, soap_version => SOAP_1_2, and still no location.
// Usage: php client.php WSDL_URL PACKAGE_FILE MESSAGE_ID DOSSIER_CODE PROCEDURE_CODE
// Prints: "sent STATE EXCHANGE_ID", "status EXCHANGE_ID STATE", "fault CODE FIELD".
declare(strict_types=1);

const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';

// Credentials from the environment: a WS-Security UsernameToken with PasswordDigest, written as
// XML and sent as it is (XSD_ANYXML; ext/soap has no WS-Security). A nonce is used once: call it
// before every call.
function authenticate(SoapClient $client): void
{
    $user = getenv('CONNECTOR_USERNAME');
    if ($user === false) {
        return;
    }
    $nonce = random_bytes(16);
    $created = gmdate('Y-m-d\TH:i:s\Z');
    $digest = base64_encode(sha1($nonce . $created . getenv('CONNECTOR_PASSWORD'), true));
    $token = '<wsse:Security xmlns:wsse="' . WSSE . '" xmlns:wsu="' . WSU . '"><wsse:UsernameToken>'
        . '<wsse:Username>' . htmlspecialchars($user, ENT_XML1) . '</wsse:Username>'
        . '<wsse:Password Type="' . DIGEST . '">' . $digest . '</wsse:Password>'
        . '<wsse:Nonce>' . base64_encode($nonce) . '</wsse:Nonce>'
        . '<wsu:Created>' . $created . '</wsu:Created>'
        . '</wsse:UsernameToken></wsse:Security>';
    $client->__setSoapHeaders([new SoapHeader(WSSE, 'Security', new SoapVar($token, XSD_ANYXML))]);
}

[, $wsdl, $packageFile, $messageId, $dossierCode, $procedureCode] = $argv;
$options = ['cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true];
if (getenv('CONNECTOR_SOAP_VERSION') === '1.2') {
    $options['soap_version'] = SOAP_1_2;
}
$client = new SoapClient($wsdl, $options);

authenticate($client);
$sent = $client->sendDocument([
    'messageId' => $messageId,
    'edxmlPackage' => file_get_contents($packageFile),  // raw bytes: ext/soap base64-encodes base64Binary
    'kind' => 'INCOMING',
    'senderUsername' => 'cbtiepnhan',
    'dossier' => ['dossierCode' => $dossierCode, 'procedureCode' => $procedureCode],
]);
echo "sent {$sent->receipt->state} {$sent->receipt->exchangeId}\n";

authenticate($client);
$status = $client->getStatus(['dossierCode' => $dossierCode]);
echo "status {$status->exchange->exchangeId} {$status->exchange->state}\n";

authenticate($client);
try {
    $client->getStatus(['dossierCode' => 'no-such-dossier']);
    echo "fault none\n";
} catch (SoapFault $fault) {
    $detail = $fault->detail->ConnectorFault;  // the WSDL's typed fault
    echo "fault {$detail->code} {$detail->field}\n";
}
