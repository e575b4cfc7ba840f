package config

// BookKeeperAuthNote says where the Java worker uses the BookKeeper client
// authentication keys and why they do nothing here. 4.0.8's worker reads them
// in exactly one place, WorkerUtils.getDlogConf: the DistributedLog namespace
// that stores function packages when functionsWorkerEnablePackageManagement is
// false (bkc.clientAuthProviderFactoryClass and bkc.<parametersName>). Its
// state storage client (stateStorageServiceUrl, StorageClientSettings) is
// built from the service URL alone, with no BookKeeper authentication, and so
// is ours.
const BookKeeperAuthNote = "has no effect: the Java worker uses it only for the BookKeeper client of its DistributedLog package storage, " +
	"which this worker does not have (packages go to topics in the functions namespace, or to the brokers' packages service " +
	"with functionsWorkerEnablePackageManagement); neither worker uses it for the state storage client (stateStorageServiceUrl)"

// checkBookkeeperAuth warns about each BookKeeper authentication key that is set.
func (l *loader) checkBookkeeperAuth(c *Config) {
	for k, v := range map[string]string{
		"bookkeeperClientAuthenticationPlugin":         c.BookkeeperClientAuthenticationPlugin,
		"bookkeeperClientAuthenticationParametersName": c.BookkeeperClientAuthenticationParametersName,
		"bookkeeperClientAuthenticationParameters":     c.BookkeeperClientAuthenticationParameters,
	} {
		if v != "" {
			l.warnf([]string{k}, "%s", BookKeeperAuthNote)
		}
	}
}
