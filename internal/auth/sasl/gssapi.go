package sasl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// krb5OID is the Kerberos V5 GSS-API mechanism, 1.2.840.113554.1.2.2, DER.
var krb5OID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

// GSS-API token ids (RFC 4121 4.1) and checksum (RFC 4121 4.1.1).
const (
	tokIDAPReq      = 0x0100
	gssChecksumType = 0x8003
	gssMutualFlag   = 2
	// wrap token flags (RFC 4121 4.2.2)
	wrapSentByAcceptor = 0x01
	wrapSealed         = 0x02
)

// SASL GSSAPI security layers (RFC 4752 3.3): we offer none but "auth",
// with Java's default receive buffer size, as GssKrb5Server does.
const (
	layerNone    = 0x01
	recvMaxBuf   = 65536
	maxClockSkew = 5 * time.Minute
)

// acceptor verifies Kerberos AP-REQs for one service principal with its
// keytab, the GSS-API acceptor side of the SASL GSSAPI mechanism.
type acceptor struct {
	kt        *keytab.Keytab
	principal types.PrincipalName
	realm     string
	allowed   allowedIDs
	replay    *replayCache
	now       func() time.Time
}

func newAcceptor(login serviceLogin, defRealm string, allowed allowedIDs, now func() time.Time) (*acceptor, error) {
	kt, err := keytab.Load(login.Keytab)
	if err != nil {
		return nil, fmt.Errorf("load keytab %s: %w", login.Keytab, err)
	}
	name := login.Principal
	n, err := parseKerberosName(name)
	if err != nil {
		return nil, err
	}
	realm := n.Realm
	if !n.HasRealm {
		if defRealm == "" {
			return nil, fmt.Errorf("principal %s has no realm and krb5.conf names no default_realm", name)
		}
		realm = defRealm
	}
	pn := types.PrincipalName{NameType: 1, NameString: []string{n.Service}}
	if n.HasHost {
		pn = types.PrincipalName{NameType: 3, NameString: []string{n.Service, n.Host}}
	}
	found := false
	for _, e := range kt.Entries {
		if e.Principal.Realm == realm && slicesEqual(e.Principal.Components, pn.NameString) {
			found = true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("keytab %s has no key for %s@%s", login.Keytab, pn.PrincipalNameString(), realm)
	}
	return &acceptor{kt: kt, principal: pn, realm: realm, allowed: allowed,
		replay: &replayCache{seen: map[string]time.Time{}}, now: now}, nil
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// gssSession is one SASL GSSAPI exchange on the server side.
type gssSession struct {
	established bool
	complete    bool
	key         types.EncryptionKey
	peer        string
	seq         uint64
	role        string
}

// step consumes one client token and returns the server's answer.
func (a *acceptor) step(s *gssSession, in []byte, remote net.IP) ([]byte, error) {
	switch {
	case s.complete:
		return nil, errors.New("SASL exchange already complete")
	case !s.established:
		if err := a.accept(s, in, remote); err != nil {
			return nil, err
		}
		// No mutual authentication: the security layer offer follows at once
		// (GssKrb5Server's doHandshake1 with an empty response).
		offer := []byte{layerNone, 0, 0, 0}
		putUint24(offer[1:], recvMaxBuf)
		return a.wrap(s, offer)
	default:
		return nil, a.finish(s, in)
	}
}

// accept verifies the client's InitialContextToken.
func (a *acceptor) accept(s *gssSession, in []byte, remote net.IP) error {
	raw, err := parseInitialContextToken(in)
	if err != nil {
		return err
	}
	var req messages.APReq
	if err := req.Unmarshal(raw); err != nil {
		return fmt.Errorf("AP-REQ: %w", err)
	}
	if !req.Ticket.SName.Equal(a.principal) || req.Ticket.Realm != a.realm {
		return fmt.Errorf("the ticket is for %s@%s, not for this worker's principal %s@%s",
			req.Ticket.SName.PrincipalNameString(), req.Ticket.Realm, a.principal.PrincipalNameString(), a.realm)
	}
	var addr types.HostAddress
	if remote != nil {
		addr = types.HostAddressFromNetIP(remote)
	}
	ok, err := req.Verify(a.kt, maxClockSkew, addr, &a.principal)
	if err != nil {
		return fmt.Errorf("verify AP-REQ: %w", err)
	}
	if !ok {
		return errors.New("verify AP-REQ: ticket not valid")
	}
	au := req.Authenticator
	if a.replay.seenBefore(fmt.Sprintf("%s@%s %d %d", au.CName.PrincipalNameString(), au.CRealm, au.CTime.UnixNano(), au.Cusec), a.now()) {
		return errors.New("verify AP-REQ: replayed authenticator")
	}
	ck := au.Cksum
	if ck.CksumType != gssChecksumType || len(ck.Checksum) < 24 {
		return fmt.Errorf("AP-REQ authenticator without the GSS-API checksum (type %#x)", ck.CksumType)
	}
	if flags := binary.LittleEndian.Uint32(ck.Checksum[20:24]); flags&gssMutualFlag != 0 {
		return errors.New("the client asks for mutual authentication, which this worker does not offer (Pulsar's Java client does not ask for it)")
	}
	s.key = req.Ticket.DecryptedEncPart.Key
	if len(au.SubKey.KeyValue) > 0 {
		s.key = au.SubKey
	}
	// Without mutual authentication both sides start the acceptor's
	// sequence numbers at the initiator's.
	s.seq = uint64(au.SeqNumber)
	s.peer = au.CName.PrincipalNameString() + "@" + au.CRealm
	s.established = true
	return nil
}

// finish checks the client's wrapped answer to the security layer offer
// and authorizes the peer as PulsarSaslServer's callback does.
func (a *acceptor) finish(s *gssSession, in []byte) error {
	payload, err := unwrap(s.key, in)
	if err != nil {
		return err
	}
	if len(payload) < 4 {
		return errors.New("final SASL GSSAPI message shorter than 4 bytes")
	}
	if payload[0]&layerNone == 0 || payload[0]&^layerNone != 0 {
		return fmt.Errorf("client selected security layer %#x; only none (1) is offered", payload[0])
	}
	authzID := s.peer
	if len(payload) > 4 {
		authzID = string(payload[4:])
	}
	if authzID != s.peer {
		return fmt.Errorf("forbidden: authentication id %s is different from authorization id %s", s.peer, authzID)
	}
	if !a.allowed.allows(s.peer) {
		return fmt.Errorf("forbidden: authentication id %s is not allowed (saslJaasClientAllowedIds)", s.peer)
	}
	if _, err := parseKerberosName(s.peer); err != nil {
		return err
	}
	// PulsarSaslServer would set "<short name>/<host>@<realm>" when an
	// auth_to_local rule applies, but on Java 17 its KerberosName cannot read
	// the default realm (sun.security.krb5 is not opened to it), so no rule
	// ever applies and the role stays the client's principal: observed with
	// the 4.0.8 worker as "pulsar-admin@PFW.TEST" (TestSASLKerberos).
	s.role = authzID
	s.complete = true
	return nil
}

// wrap makes an acceptor Wrap token (integrity only) of payload.
func (a *acceptor) wrap(s *gssSession, payload []byte) ([]byte, error) {
	et, err := crypto.GetEtype(s.key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("wrap: %w", err)
	}
	wt := gssapi.WrapToken{
		Flags:     wrapSentByAcceptor,
		EC:        uint16(et.GetHMACBitLength() / 8),
		SndSeqNum: s.seq,
		Payload:   payload,
	}
	if err := wt.SetCheckSum(s.key, keyusage.GSSAPI_ACCEPTOR_SEAL); err != nil {
		return nil, fmt.Errorf("wrap: %w", err)
	}
	s.seq++
	return wt.Marshal()
}

// unwrap checks an initiator Wrap token without confidentiality and returns
// its payload.
func unwrap(key types.EncryptionKey, in []byte) ([]byte, error) {
	if len(in) < gssapi.HdrLen {
		return nil, errors.New("wrap token shorter than its header")
	}
	if in[2]&wrapSealed != 0 {
		return nil, errors.New("wrap token with confidentiality; only integrity is supported")
	}
	b := in
	if rrc := int(binary.BigEndian.Uint16(in[6:8])); rrc != 0 {
		// Undo the right rotation of the data after the header (RFC 4121 4.2.5).
		data := in[gssapi.HdrLen:]
		if len(data) > 0 {
			rrc %= len(data)
			b = make([]byte, len(in))
			copy(b, in[:gssapi.HdrLen])
			copy(b[gssapi.HdrLen:], data[rrc:])
			copy(b[gssapi.HdrLen+len(data)-rrc:], data[:rrc])
		}
	}
	var wt gssapi.WrapToken
	if err := wt.Unmarshal(b, false); err != nil {
		return nil, fmt.Errorf("wrap token: %w", err)
	}
	if ok, err := wt.Verify(key, keyusage.GSSAPI_INITIATOR_SEAL); !ok || err != nil {
		return nil, fmt.Errorf("wrap token: checksum: %v", err)
	}
	return wt.Payload, nil
}

// parseInitialContextToken returns the AP-REQ inside a GSS-API
// InitialContextToken (RFC 2743 3.1) of the Kerberos V5 mechanism.
func parseInitialContextToken(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != 0x60 {
		return nil, errors.New("not a GSS-API initial context token")
	}
	n, hdr, err := derLength(b[1:])
	if err != nil {
		return nil, err
	}
	body := b[1+hdr:]
	if n != len(body) {
		return nil, fmt.Errorf("GSS-API token length %d, but %d bytes follow", n, len(body))
	}
	if !bytes.HasPrefix(body, krb5OID) {
		return nil, errors.New("GSS-API token of another mechanism than Kerberos V5")
	}
	body = body[len(krb5OID):]
	if len(body) < 2 || binary.BigEndian.Uint16(body) != tokIDAPReq {
		return nil, errors.New("Kerberos GSS-API token is not an AP-REQ")
	}
	return body[2:], nil
}

// derLength reads a DER length; it returns the length and the bytes it took.
func derLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, errors.New("truncated GSS-API token")
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 4 || len(b) < 1+k {
		return 0, 0, errors.New("bad length in GSS-API token")
	}
	n := 0
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	return n, 1 + k, nil
}

// replayCache remembers authenticators for the clock skew window.
type replayCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (c *replayCache) seenBefore(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, t := range c.seen {
		if now.Sub(t) > 2*maxClockSkew {
			delete(c.seen, k)
		}
	}
	if _, ok := c.seen[key]; ok {
		return true
	}
	c.seen[key] = now
	return false
}

// putUint24 writes v's low 24 bits big-endian.
func putUint24(b []byte, v uint32) {
	b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
}
