"""Stop words for both languages, shipped with the code (NLTK's lists are downloaded data).

The English list is the common function words; negations ("not", "no", "can't") are kept out of it
because "can't log in" and "can log in" are different helpdesk questions. The Japanese list holds
the particles, auxiliaries and formal filler that morphological analysis leaves behind as lemmas.
"""

from __future__ import annotations

ENGLISH_STOP_WORDS = frozenset(
    """
a about above after again against all am an and any are as at be because been before being below
between both but by could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself of off on once only or other our ours ourselves out over own same she should so some such
than that the their theirs them themselves then there these they this those through to too under
until up very was we were what when where which while who whom why will with would you your yours
yourself yourselves 's 'm 're 've 'd 'll hi hello hey please thanks thank there's i'm i've i'd get
got also us let like may might must shall
""".split()  # noqa: SIM905 - a word list reads better as text
)

JAPANESE_STOP_WORDS = frozenset(
    """
の に は を た が で て と し れ さ ある いる も する から な こと として い
や れる など なっ ない この ため その あっ よう また もの という あり まで られ
なる へ か だ これ によって により おり より による ず なり られる において ば
なかっ なく しかし について せ だっ その後 できる それ う ので なお のみ でき き
つ における および いう さらに でも ら たり その他 に関する たち ます ん なら です
ござる 為る 成る 居る 有る 良い いい ください 下さる お願い 願う 御 お ご 様 さん
くださる たい でしょ ましょ まし どう なん 何 どの 方 こちら そちら 私 わたし 僕
ぼく
""".split()  # noqa: SIM905 - a word list reads better as text
)
