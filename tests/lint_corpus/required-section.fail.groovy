pipeline {  // <-- required-section
    stages { stage('a') { steps { echo 'x' } } }
}
