#!/usr/bin/perl
# A Perl client: SOAP::Lite, document/literal by hand (SOAP::Lite generates no client from a
# WSDL of this style), every string typed as xsd:string - SOAP::Lite's autotyping would send
# non-ASCII text (Vietnamese names) as base64Binary, which the schema refuses.
# Usage: perl client.pl BASE_URL PACKAGE_FILE MESSAGE_ID DOSSIER_CODE PROCEDURE_CODE
# Prints: "sent STATE EXCHANGE_ID", "status EXCHANGE_ID STATE", "fault CODE FIELD".
use strict;
use warnings;
use utf8;
use Digest::SHA qw(sha1);
use MIME::Base64 qw(encode_base64);
use POSIX qw(strftime);
use SOAP::Lite;

my $TNS = 'urn:vn:lienthong:connector:1';
my $WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
my $WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
my $DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';

# Credentials from the environment: a WS-Security UsernameToken with PasswordDigest, as raw XML.
# A nonce is used once: build a new header for every call.
sub security {
    my $user = $ENV{CONNECTOR_USERNAME} or return ();
    open my $random, '<:raw', '/dev/urandom' or die $!;
    read $random, my $nonce, 16;
    my $created = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime);
    my $digest = encode_base64(sha1($nonce . $created . $ENV{CONNECTOR_PASSWORD}), '');
    return SOAP::Header->type(xml => qq{<wsse:Security xmlns:wsse="$WSSE" xmlns:wsu="$WSU"><wsse:UsernameToken>}
        . qq{<wsse:Username>$user</wsse:Username><wsse:Password Type="$DIGEST">$digest</wsse:Password>}
        . qq{<wsse:Nonce>} . encode_base64($nonce, '') . qq{</wsse:Nonce><wsu:Created>$created</wsu:Created>}
        . qq{</wsse:UsernameToken></wsse:Security>});
}

sub text { my ($name, $value) = @_; return SOAP::Data->name($name => $value)->type('string') }

my ($base_url, $package_file, $message_id, $dossier_code, $procedure_code) = @ARGV;
my $soap = SOAP::Lite->proxy("$base_url/soap")->default_ns($TNS)->on_action(sub { qq("$_[1]") });
$soap->on_fault(sub { return $_[1] });  # a fault is an answer to read, not an exception
open my $file, '<:raw', $package_file or die $!;
my $package = do { local $/; <$file> };

my $sent = $soap->call('sendDocument',
    text(messageId => $message_id),
    SOAP::Data->name(edxmlPackage => $package)->type('base64Binary'),  # SOAP::Lite base64-encodes it
    text(kind => 'INCOMING'),
    text(senderUsername => 'cbtiepnhan'),
    SOAP::Data->name(dossier => \SOAP::Data->value(
        text(dossierCode => $dossier_code), text(procedureCode => $procedure_code),
        text(applicant => 'Nguyễn Văn An'),  # non-ASCII: autotyped, it would be base64Binary
    )),
    security());
die $sent->faultstring if $sent->fault;
print 'sent ', $sent->valueof('//receipt/state'), ' ', $sent->valueof('//receipt/exchangeId'), "\n";

my $status = $soap->call('getStatus', text(dossierCode => $dossier_code), security());
die $status->faultstring if $status->fault;
print 'status ', $status->valueof('//exchange/exchangeId'), ' ', $status->valueof('//exchange/state'), "\n";

my $unknown = $soap->call('getStatus', text(dossierCode => 'no-such-dossier'), security());
if ($unknown->fault) {
    my $detail = $unknown->faultdetail->{ConnectorFault};  # the WSDL's typed fault
    print "fault $detail->{code} $detail->{field}\n";
} else {
    print "fault none\n";
}
