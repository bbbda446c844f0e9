import { MemoryTokenStore } from '../../lib/index.js';
import { describeTokenStoreContract } from './token-store.contract.js';

describeTokenStoreContract('MemoryTokenStore', async () => ({ store: new MemoryTokenStore() }));
