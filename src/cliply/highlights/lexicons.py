"""The word lists of the text features, per spoken language.

English, Spanish, French, German and Portuguese have their own lists. Any other language gets
`native=False`: the features that need word lists (hook words, emotion words, dangling
openers) skip them and say so in their reasons, and punctuation-only signals remain.
Lists are whitespace-separated strings, lower case, so they read as word lists, not code.
"""

from __future__ import annotations

from dataclasses import dataclass

from cliply.highlights import text as en


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrases(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(p.split()) for p in text.split(","))


@dataclass(frozen=True)
class Lexicon:
    language: str
    native: bool  # False: no lists for this language (the word-list signals are skipped)
    stop_words: frozenset[str]
    dangling_openers: tuple[tuple[str, ...], ...]
    unresolved_pronouns: frozenset[str]
    superlatives: frozenset[str]
    direct_address: frozenset[str]
    hook_openers: frozenset[str]
    number_words: frozenset[str]
    emotion_words: frozenset[str]
    generic_words: frozenset[str]

    def dangling_opener(self, toks: list[str]) -> str | None:
        """The longest dangling connective the token list starts with, if any."""
        best: tuple[str, ...] | None = None
        for phrase in self.dangling_openers:
            n = len(phrase)
            if n and tuple(toks[:n]) == phrase and (best is None or n > len(best)):
                best = phrase
        return " ".join(best) if best else None

    def content_words(self, toks: list[str]) -> list[str]:
        return [t for t in toks if t not in self.stop_words and len(t) > 2 and not t.isdigit()]

    @property
    def english_only_note(self) -> str:
        return (
            f"word lists exist for {', '.join(LEXICON_LANGUAGES)} only, not for '{self.language}'"
        )


ENGLISH = Lexicon(
    language="en",
    native=True,
    stop_words=en.STOP_WORDS,
    dangling_openers=en.DANGLING_OPENERS,
    unresolved_pronouns=en.UNRESOLVED_PRONOUNS,
    superlatives=en.SUPERLATIVES,
    direct_address=en.DIRECT_ADDRESS,
    hook_openers=en.HOOK_OPENERS,
    number_words=en.NUMBER_WORDS,
    emotion_words=en.EMOTION_WORDS,
    generic_words=en.GENERIC_WORDS,
)

SPANISH = Lexicon(
    language="es",
    native=True,
    stop_words=_words(
        "a al algo algunos ante antes como con contra cual cuando de del desde donde durante e "
        "el ella ellas ellos en entre era eran es esa esas ese eso esos esta estaba estamos "
        "estan están estar este esto estos fue fueron ha habia había han hasta hay la las le les "
        "lo los mas más me mi mis muy nada ni no nos nosotros o os otra otro para pero poco por "
        "porque que qué quien se sea ser si sí sin sobre son su sus también tan te tener tengo "
        "ti tiene todo todos tu tus un una uno unos y ya yo bueno pues eh este o sea vale"
    ),
    dangling_openers=_phrases(
        "y, y entonces, y luego, entonces, pero, porque, así que, por eso, lo cual, que, luego, "
        "también, o, además, sin embargo, por lo tanto, pues"
    ),
    unresolved_pronouns=_words(
        "él ella ellos ellas esto eso esta este estos estas esa ese esos esas lo la los las le les"
    ),
    superlatives=_words(
        "mejor peor nunca siempre nadie todos todo nada secreto verdad error errores único única "
        "increíble imposible garantizado millón millones totalmente absolutamente jamás "
        "sorprendente mito falso máximo mínimo"
    ),
    direct_address=_words("tú te ti tu tus usted ustedes vosotros os contigo tuyo"),
    hook_openers=_words(
        "imagina imagínate escucha mira piensa adivina recuerda fíjate cómo qué nunca sabías"
    ),
    number_words=_words(
        "uno una dos tres cuatro cinco seis siete ocho nueve diez once doce quince veinte treinta "
        "cuarenta cincuenta cien ciento mil millón millones por ciento mitad doble triple primero "
        "primera segundo segunda tercero tercera"
    ),
    emotion_words=_words(
        "amor amo odio odio increíble terrible horrible miedo asustado enojado furioso loco "
        "locura guau impactante emocionado emocionante feliz triste lloré llorando reí "
        "divertido hermoso hermosa asqueroso dolor orgulloso vergüenza pánico brillante "
        "ridículo enorme muerte muerto vida sueño pesadilla desastre milagro gané ganamos "
        "perdí fracaso éxito finalmente corazón perfecto"
    ),
    generic_words=_words(
        "cosa cosas forma manera gente hacer hace hecho tener decir dijo ir voy vamos bien mal "
        "nuevo viejo grande pequeño tiempo día días año años semana hoy mañana ayer"
    ),
)

FRENCH = Lexicon(
    language="fr",
    native=True,
    stop_words=_words(
        "à a au aux avec ce ces c'est cette d'un d'une dans de des du elle elles en est et être "
        "eu il ils j'ai je la le les leur leurs lui ma mais me même mes moi mon ne nos notre "
        "nous on ou où par pas pour qu'il que qui sa se ses son sont sur ta te tes toi ton tu "
        "un une vos votre vous y été était étais ai as avons avez ont fait faire donc alors "
        "bon ben euh voilà quoi bah"
    ),
    dangling_openers=_phrases(
        "et, et donc, et puis, et alors, donc, mais, parce que, car, alors, puis, ensuite, ou, "
        "aussi, d'ailleurs, pourtant, cependant, par conséquent, sinon, qui, ce qui"
    ),
    unresolved_pronouns=_words(
        "il elle ils elles ça cela ceci ce cet cette ces celui celle ceux celles lui leur"
    ),
    superlatives=_words(
        "meilleur meilleure pire jamais toujours personne tout tous rien secret vérité erreur "
        "erreurs seul seule incroyable impossible garanti million milliard complètement "
        "totalement absolument choquant surprenant mythe faux"
    ),
    direct_address=_words("tu te toi ton ta tes vous votre vos t'as t'es"),
    hook_openers=_words(
        "imaginez imagine écoutez écoute regardez regarde arrêtez pensez devinez souvenez "
        "pourquoi comment quoi jamais saviez"
    ),
    number_words=_words(
        "un une deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente "
        "quarante cinquante cent mille million milliard pourcent moitié double triple premier "
        "première deuxième second seconde troisième"
    ),
    emotion_words=_words(
        "amour aime adore déteste haine incroyable terrible horrible peur effrayé terrifié "
        "colère furieux fou folle dingue waouh choqué choquant excité heureux heureuse triste "
        "pleuré pleurer ri drôle hilarant beau belle magnifique dégoûtant douleur fier fière "
        "honte panique génial ridicule énorme mort morte vie rêve cauchemar désastre miracle "
        "gagné perdu échec succès enfin cœur parfait"
    ),
    generic_words=_words(
        "chose choses truc trucs façon manière gens faire fait dire dit aller bien mal nouveau "
        "vieux grand petit temps jour jours année années semaine demain hier"
    ),
)

GERMAN = Lexicon(
    language="de",
    native=True,
    stop_words=_words(
        "aber als am an auch auf aus bei bin bis bist da damit dann das dass dem den denn der "
        "des die dies diese dieser dieses doch du ein eine einem einen einer eines er es für "
        "hat hatte hier ich ihr im in ist ja kann mich mir mit muss nach nicht noch nur ob "
        "oder schon sehr sich sie sind so und uns von vor war was wie wir wird zu zum zur "
        "also halt mal eben äh ähm naja genau"
    ),
    dangling_openers=_phrases(
        "und, und dann, und so, also, aber, weil, denn, deshalb, deswegen, dann, außerdem, "
        "oder, trotzdem, jedoch, sonst, was, welche"
    ),
    unresolved_pronouns=_words("er sie es das dies diese dieser dieses ihm ihn ihnen ihr ihre"),
    superlatives=_words(
        "beste besten schlechteste nie niemals immer niemand jeder alle alles nichts geheimnis "
        "wahrheit fehler einzige unglaublich unmöglich garantiert million milliarde komplett "
        "total absolut schockierend überraschend mythos falsch"
    ),
    direct_address=_words("du dich dir dein deine deinen euch euer eure"),
    hook_openers=_words(
        "stell stellt stellen hör hört schau schaut stopp denk rate erinnere warum wie was nie "
        "wusstest"
    ),
    number_words=_words(
        "eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf fünfzehn zwanzig "
        "dreißig vierzig fünfzig hundert tausend million milliarde prozent hälfte doppelt "
        "dreifach erste erster erstes ersten zweite zweiter zweites dritte dritter drittes"
    ),
    emotion_words=_words(
        "liebe liebe hasse hass unglaublich schrecklich furchtbar angst verängstigt wütend "
        "verrückt wahnsinn wow schockiert aufgeregt spannend glücklich traurig geweint lachte "
        "lustig schön ekelhaft schmerz stolz peinlich panik genial lächerlich riesig tot tod "
        "leben traum albtraum katastrophe wunder gewonnen verloren versagt erfolg endlich herz "
        "perfekt"
    ),
    generic_words=_words(
        "ding dinge sache sachen art weise leute machen macht gemacht sagen sagte gehen gut "
        "schlecht neu alt groß klein zeit tag tage jahr jahre woche heute morgen gestern"
    ),
)

PORTUGUESE = Lexicon(
    language="pt",
    native=True,
    stop_words=_words(
        "a ao aos as até com como da das de do dos e é ela elas ele eles em entre era essa "
        "esse isso esta este eu foi há isso já la lhe mais mas me meu minha muito na nas nem "
        "no nos não nós o os ou para pela pelo por qual quando que se sem ser seu sua são só "
        "também te tem ter tu um uma você vocês então né tipo assim aí"
    ),
    dangling_openers=_phrases(
        "e, e então, e aí, então, mas, porque, por isso, aí, depois, também, ou, além disso, "
        "porém, no entanto, portanto, que, o que"
    ),
    unresolved_pronouns=_words(
        "ele ela eles elas isso isto esse essa esses essas este esta aquilo aquele aquela lhe"
    ),
    superlatives=_words(
        "melhor pior nunca sempre ninguém todos tudo nada segredo verdade erro erros único "
        "única incrível impossível garantido milhão milhões bilhão completamente totalmente "
        "absolutamente jamais chocante surpreendente mito errado"
    ),
    direct_address=_words("você vocês te ti teu tua seu sua contigo"),
    hook_openers=_words(
        "imagine imagina escute escuta olhe olha pare pense adivinhe lembre porquê como nunca sabia"
    ),
    number_words=_words(
        "um uma dois duas três quatro cinco seis sete oito nove dez onze doze quinze vinte "
        "trinta quarenta cinquenta cem mil milhão milhões por cento metade dobro triplo "
        "primeiro primeira segundo segunda terceiro terceira"
    ),
    emotion_words=_words(
        "amor amo odeio ódio incrível terrível horrível medo assustado bravo furioso louco "
        "loucura uau chocado empolgado feliz triste chorei chorando ri engraçado lindo linda "
        "nojento dor orgulho vergonha pânico brilhante ridículo enorme morte morto vida sonho "
        "pesadelo desastre milagre ganhei perdi fracasso sucesso finalmente coração perfeito"
    ),
    generic_words=_words(
        "coisa coisas forma jeito gente fazer faz feito ter dizer disse ir bem mal novo velho "
        "grande pequeno tempo dia dias ano anos semana hoje amanhã ontem"
    ),
)

LEXICONS: dict[str, Lexicon] = {
    lex.language: lex for lex in (ENGLISH, SPANISH, FRENCH, GERMAN, PORTUGUESE)
}
LEXICON_LANGUAGES = tuple(LEXICONS)


def lexicon_for(language: str | None) -> Lexicon:
    """The lists for `language` (a Whisper code; None = English). Other languages get empty
    lists with `native=False`, so no English word is ever matched in, say, Russian text."""
    code = (language or "en").lower().split("-", 1)[0]
    found = LEXICONS.get(code)
    if found is not None:
        return found
    empty: frozenset[str] = frozenset()
    return Lexicon(
        language=code,
        native=False,
        stop_words=empty,
        dangling_openers=(),
        unresolved_pronouns=empty,
        superlatives=empty,
        direct_address=empty,
        hook_openers=empty,
        number_words=empty,
        emotion_words=empty,
        generic_words=empty,
    )
